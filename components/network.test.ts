import { validateNetworkArgs, type NetworkArgs } from "./network";

const valid: NetworkArgs = { cidrBlock: "10.0.0.0/16", azCount: 2, natGateways: 1 };

describe("validateNetworkArgs", () => {
  it("takes two AZs with one or two NAT gateways, and a /18", () => {
    expect(() => validateNetworkArgs("net", valid)).not.toThrow();
    expect(() => validateNetworkArgs("net", { ...valid, natGateways: 2, cidrBlock: "10.0.0.0/18" })).not.toThrow();
    expect(() => validateNetworkArgs("net", { ...valid, natGateways: undefined })).not.toThrow();
  });

  it.each([1, 2.5])("refuses %p AZs", (azCount) => {
    expect(() => validateNetworkArgs("net", { ...valid, azCount })).toThrow(
      `Network "net": azCount must be an integer of at least 2 (got ${azCount}): one AZ is not highly available.`,
    );
  });

  it.each([0, 3, 1.5])("refuses %p NAT gateways with two AZs", (natGateways) => {
    expect(() => validateNetworkArgs("net", { ...valid, natGateways })).toThrow(
      `Network "net": natGateways must be 1..2 (got ${natGateways}): private subnets need at least one NAT, and more than one per AZ is waste.`,
    );
  });

  it.each(["10.0.0.0/20", "10.0.0.0", "fd00::/8"])("refuses the CIDR %p", (cidrBlock) => {
    expect(() => validateNetworkArgs("net", { ...valid, cidrBlock })).toThrow(
      `Network "net": cidrBlock must be an IPv4 CIDR of /18 or larger (got "${cidrBlock}") to hold a /20 per subnet.`,
    );
  });
});
