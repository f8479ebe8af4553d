import { validateLoadBalancerArgs, type LoadBalancerArgs } from "./load-balancer";

const valid: LoadBalancerArgs = {
  vpcId: "vpc-1",
  publicSubnetIds: ["subnet-a", "subnet-b"],
  containerPort: 8080,
  healthCheckPath: "/health",
  testListenerPort: 8443,
  testListenerSourceIps: ["203.0.113.1"],
};

describe("validateLoadBalancerArgs", () => {
  it("takes plain HTTP, a certificate, or a domain with its zone", () => {
    expect(() => validateLoadBalancerArgs("lb", valid)).not.toThrow();
    expect(() => validateLoadBalancerArgs("lb", { ...valid, domainName: "api.example.com", hostedZoneId: "Z123" })).not.toThrow();
    expect(() => validateLoadBalancerArgs("lb", { ...valid, domainName: "api.example.com", certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/1" })).not.toThrow();
  });

  it("refuses a domain with neither a zone nor a certificate", () => {
    expect(() => validateLoadBalancerArgs("lb", { ...valid, domainName: "api.example.com" })).toThrow(
      'LoadBalancer "lb": domainName "api.example.com" needs hostedZoneId (to issue the certificate) or certificateArn.',
    );
  });

  it.each([80, 443])("refuses the production port %p for the test listener", (port) => {
    expect(() => validateLoadBalancerArgs("lb", { ...valid, testListenerPort: port })).toThrow(
      `LoadBalancer "lb": testListenerPort must not be 80 or 443 (got ${port}): those serve production traffic.`,
    );
  });
});
