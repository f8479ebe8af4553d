import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { SETTING_DEFAULTS } from "../infra/config";

export interface NetworkArgs {
  /** VPC CIDR block; each AZ gets a /20 public and a /20 private subnet carved from it. */
  readonly cidrBlock: string;
  /** Availability zones to span (at least 2). */
  readonly azCount: number;
  /** NAT gateways: 1 (cheaper; one AZ's egress is a single point of failure) up to one per AZ. @default 1 */
  readonly natGateways?: number;
  /** Interface endpoints for ECR, CloudWatch Logs, Secrets Manager and SSM, so that traffic skips the NAT. @default true */
  readonly interfaceEndpoints?: boolean;
  /** Tags for every resource. */
  readonly tags?: Record<string, string>;
}

/** Services whose interface endpoints save NAT traffic for Fargate tasks and the hook Lambda. */
const INTERFACE_ENDPOINT_SERVICES = ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "monitoring"] as const;

export function validateNetworkArgs(name: string, args: NetworkArgs): void {
  if (!Number.isInteger(args.azCount) || args.azCount < 2) {
    throw new Error(`Network "${name}": azCount must be an integer of at least 2 (got ${args.azCount}): one AZ is not highly available.`);
  }
  const nat = args.natGateways ?? SETTING_DEFAULTS.network.natGateways;
  if (!Number.isInteger(nat) || nat < 1 || nat > args.azCount) {
    throw new Error(`Network "${name}": natGateways must be 1..${args.azCount} (got ${nat}): private subnets need at least one NAT, and more than one per AZ is waste.`);
  }
  const prefix = Number(args.cidrBlock.split("/")[1]);
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(args.cidrBlock) || prefix > 18) {
    throw new Error(`Network "${name}": cidrBlock must be an IPv4 CIDR of /18 or larger (got "${args.cidrBlock}") to hold a /20 per subnet.`);
  }
}

/** The /20 at `index` inside a /16../18 block, e.g. subnetCidr("10.40.0.0/16", 1) = "10.40.16.0/20". */
export function subnetCidr(cidrBlock: string, index: number): string {
  const [base] = cidrBlock.split("/");
  const octets = base.split(".").map(Number);
  const value = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const subnet = (value + index * 4096) >>> 0;
  return `${[subnet >>> 24, (subnet >>> 16) & 255, (subnet >>> 8) & 255, subnet & 255].join(".")}/20`;
}

/**
 * A VPC over a fixed number of AZs with public subnets (ALB, NAT) and private subnets (tasks,
 * database, Lambdas), NAT gateways per the stack's knob, and endpoints that keep AWS API traffic
 * off the NAT.
 */
export class Network extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  public readonly cidrBlock: string;
  public readonly publicSubnetIds: pulumi.Output<string>[];
  public readonly privateSubnetIds: pulumi.Output<string>[];
  /** Public IPs of the NAT gateways: the source address of anything in the private subnets calling a public endpoint. */
  public readonly natPublicIps: pulumi.Output<string>[];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("friday:network:Network", name, {}, opts);
    validateNetworkArgs(name, args);
    const tags = args.tags ?? {};
    const natCount = args.natGateways ?? SETTING_DEFAULTS.network.natGateways;
    this.cidrBlock = args.cidrBlock;

    const zones = aws.getAvailabilityZonesOutput({ state: "available" }, { parent: this }).names;
    const vpc = new aws.ec2.Vpc(`${name}-vpc`, {
      cidrBlock: args.cidrBlock,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { ...tags, Name: `${name}-vpc` },
    }, { parent: this });
    this.vpcId = vpc.id;
    // Lock down the default security group: nothing should use it.
    new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: vpc.id, tags: { ...tags, Name: `${name}-default-unused` } }, { parent: this });

    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: { ...tags, Name: `${name}-igw` } }, { parent: this });
    const publicRoutes = new aws.ec2.RouteTable(`${name}-public-rt`, {
      vpcId: vpc.id,
      routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
      tags: { ...tags, Name: `${name}-public` },
    }, { parent: this });

    const publicSubnets = this.createSubnets(name, "public", vpc, zones, args, tags);
    const privateSubnets = this.createSubnets(name, "private", vpc, zones, args, tags);
    publicSubnets.forEach((subnet, i) =>
      new aws.ec2.RouteTableAssociation(`${name}-public-rta-${i}`, { subnetId: subnet.id, routeTableId: publicRoutes.id }, { parent: this }));

    const nats = Array.from({ length: natCount }, (_, i) => {
      const eip = new aws.ec2.Eip(`${name}-nat-eip-${i}`, { domain: "vpc", tags: { ...tags, Name: `${name}-nat-${i}` } }, { parent: this });
      const nat = new aws.ec2.NatGateway(`${name}-nat-${i}`, {
        allocationId: eip.id,
        subnetId: publicSubnets[i].id,
        tags: { ...tags, Name: `${name}-nat-${i}` },
      }, { parent: this, dependsOn: [igw] });
      return { nat, eip };
    });
    this.natPublicIps = nats.map(({ eip }) => eip.publicIp);

    const privateRouteTables = privateSubnets.map((subnet, i) => {
      // With fewer NATs than AZs, AZs share NATs round-robin.
      const { nat } = nats[i % natCount];
      const table = new aws.ec2.RouteTable(`${name}-private-rt-${i}`, {
        vpcId: vpc.id,
        routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }],
        tags: { ...tags, Name: `${name}-private-${i}` },
      }, { parent: this });
      new aws.ec2.RouteTableAssociation(`${name}-private-rta-${i}`, { subnetId: subnet.id, routeTableId: table.id }, { parent: this });
      return table;
    });

    this.createEndpoints(name, vpc, privateSubnets, privateRouteTables, args, tags);
    this.publicSubnetIds = publicSubnets.map((s) => s.id);
    this.privateSubnetIds = privateSubnets.map((s) => s.id);
    this.registerOutputs({ vpcId: this.vpcId, publicSubnetIds: this.publicSubnetIds, privateSubnetIds: this.privateSubnetIds });
  }

  private createSubnets(name: string, tier: "public" | "private", vpc: aws.ec2.Vpc, zones: pulumi.Output<string[]>, args: NetworkArgs, tags: Record<string, string>): aws.ec2.Subnet[] {
    return Array.from({ length: args.azCount }, (_, i) =>
      new aws.ec2.Subnet(`${name}-${tier}-${i}`, {
        vpcId: vpc.id,
        availabilityZone: zones[i],
        cidrBlock: subnetCidr(args.cidrBlock, tier === "public" ? i : args.azCount + i),
        mapPublicIpOnLaunch: false,
        tags: { ...tags, Name: `${name}-${tier}-${i}`, "friday:tier": tier },
      }, { parent: this }));
  }

  private createEndpoints(name: string, vpc: aws.ec2.Vpc, privateSubnets: aws.ec2.Subnet[], privateRouteTables: aws.ec2.RouteTable[], args: NetworkArgs, tags: Record<string, string>): void {
    const region = aws.getRegionOutput({}, { parent: this }).region;
    // S3 gateway endpoint is free, and ECR image layers come from S3.
    new aws.ec2.VpcEndpoint(`${name}-s3`, {
      vpcId: vpc.id,
      serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
      vpcEndpointType: "Gateway",
      routeTableIds: privateRouteTables.map((t) => t.id),
      tags: { ...tags, Name: `${name}-s3` },
    }, { parent: this });
    if (args.interfaceEndpoints === false) return;
    const endpointSg = new aws.ec2.SecurityGroup(`${name}-endpoints-sg`, {
      vpcId: vpc.id,
      description: "HTTPS from inside the VPC to AWS interface endpoints",
      ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: [args.cidrBlock], description: "VPC to endpoints" }],
      tags: { ...tags, Name: `${name}-endpoints` },
    }, { parent: this });
    for (const service of INTERFACE_ENDPOINT_SERVICES) {
      new aws.ec2.VpcEndpoint(`${name}-${service.replace(".", "-")}`, {
        vpcId: vpc.id,
        serviceName: pulumi.interpolate`com.amazonaws.${region}.${service}`,
        vpcEndpointType: "Interface",
        privateDnsEnabled: true,
        subnetIds: privateSubnets.map((s) => s.id),
        securityGroupIds: [endpointSg.id],
        tags: { ...tags, Name: `${name}-${service}` },
      }, { parent: this });
    }
  }
}
