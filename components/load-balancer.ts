import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface LoadBalancerArgs {
  readonly vpcId: pulumi.Input<string>;
  /** Public subnets for the internet-facing ALB. */
  readonly publicSubnetIds: pulumi.Input<string>[];
  /** Port and health-check path of the app's container (parity-locked). */
  readonly containerPort: number;
  readonly healthCheckPath: string;
  /** Port of the test listener ECS blue/green sends test traffic to. */
  readonly testListenerPort: number;
  /**
   * Who may reach the test listener: the NAT gateways' public IPs, i.e. only things inside the VPC
   * (the lifecycle-hook Lambda). Never the internet.
   */
  readonly testListenerSourceIps: pulumi.Input<string>[];
  /** An ACM certificate for HTTPS; without one (and without domainName) the ALB serves HTTP only. */
  readonly certificateArn?: string;
  /** A DNS name to issue a certificate for and point at the ALB (needs hostedZoneId). */
  readonly domainName?: string;
  /** The Route 53 zone holding domainName. */
  readonly hostedZoneId?: string;
  /** Tags for every resource. */
  readonly tags?: Record<string, string>;
}

export function validateLoadBalancerArgs(name: string, args: LoadBalancerArgs): void {
  if (args.domainName && !args.hostedZoneId && !args.certificateArn) {
    throw new Error(`LoadBalancer "${name}": domainName "${args.domainName}" needs hostedZoneId (to issue the certificate) or certificateArn.`);
  }
  if (args.testListenerPort === 80 || args.testListenerPort === 443) {
    throw new Error(`LoadBalancer "${name}": testListenerPort must not be 80 or 443 (got ${args.testListenerPort}): those serve production traffic.`);
  }
}

/**
 * The ALB in front of the blue/green service: a production listener and a test listener, each with
 * one rule that forwards to two target groups (blue 100 / green 0). ECS flips the weights on every
 * deployment, so the rules' actions belong to ECS after creation (ignoreChanges), never to Pulumi.
 * The two listeners carry no non-forward action (no fixed-response default): their default action
 * forwards the same way (and is never reached: the rule matches every path).
 */
export class LoadBalancer extends pulumi.ComponentResource {
  public readonly alb: aws.lb.LoadBalancer;
  public readonly securityGroup: aws.ec2.SecurityGroup;
  public readonly blueTargetGroup: aws.lb.TargetGroup;
  public readonly greenTargetGroup: aws.lb.TargetGroup;
  public readonly productionListenerRule: aws.lb.ListenerRule;
  public readonly testListenerRule: aws.lb.ListenerRule;
  /** Base URL for users: https://domain, https://alb-dns or (no certificate) http://alb-dns. */
  public readonly serviceUrl: pulumi.Output<string>;
  /** Base URL of the test listener, reachable only from inside the VPC. */
  public readonly testListenerUrl: pulumi.Output<string>;
  public readonly https: boolean;
  /** The production and test listeners (ECS may modify them during a deployment). */
  public readonly listenerArns: pulumi.Output<string>[];

  constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("friday:service:LoadBalancer", name, {}, opts);
    validateLoadBalancerArgs(name, args);
    const tags = args.tags ?? {};
    const certificateArn = this.certificate(name, args, tags);
    this.https = certificateArn !== undefined;
    if (!this.https) {
      pulumi.log.warn(
        `LoadBalancer "${name}": no https.certificateArn or https.domainName in the stack config, so the ALB serves plain HTTP. ` +
          "Set friday:https to serve HTTPS.",
        this,
      );
    }

    this.securityGroup = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: "ALB: production listener from the internet, test listener from inside the VPC only",
      ingress: [
        { protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"], description: "HTTP (redirects to HTTPS when enabled)" },
        ...(this.https ? [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"], description: "HTTPS" }] : []),
        {
          protocol: "tcp",
          fromPort: args.testListenerPort,
          toPort: args.testListenerPort,
          cidrBlocks: pulumi.output(args.testListenerSourceIps).apply((ips) => ips.map((ip) => `${ip}/32`)),
          description: "Blue/green test listener: NAT egress of the VPC (the lifecycle hook) only",
        },
      ],
      egress: [{ protocol: "tcp", fromPort: args.containerPort, toPort: args.containerPort, cidrBlocks: ["0.0.0.0/0"], description: "To tasks" }],
      tags: { ...tags, Name: `${name}-alb` },
    }, { parent: this });

    this.alb = new aws.lb.LoadBalancer(`${name}-alb`, {
      loadBalancerType: "application",
      internal: false,
      subnets: args.publicSubnetIds,
      securityGroups: [this.securityGroup.id],
      dropInvalidHeaderFields: true,
      idleTimeout: 60,
      tags,
    }, { parent: this });

    const targetGroup = (color: string) =>
      new aws.lb.TargetGroup(`${name}-${color}`, {
        vpcId: args.vpcId,
        targetType: "ip",
        protocol: "HTTP",
        port: args.containerPort,
        deregistrationDelay: 30,
        healthCheck: { path: args.healthCheckPath, matcher: "200", interval: 10, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3 },
        tags: { ...tags, "friday:color": color },
      }, { parent: this });
    this.blueTargetGroup = targetGroup("blue");
    this.greenTargetGroup = targetGroup("green");

    const productionListener = this.productionListener(name, certificateArn, tags);
    const testListener = new aws.lb.Listener(`${name}-test`, {
      loadBalancerArn: this.alb.arn,
      port: args.testListenerPort,
      protocol: "HTTP",
      defaultActions: this.forwardActions(),
      tags,
    }, { parent: this, ignoreChanges: ["defaultActions"] });
    this.listenerArns = [productionListener.arn, testListener.arn];
    this.productionListenerRule = this.forwardRule(`${name}-production-rule`, productionListener, tags);
    this.testListenerRule = this.forwardRule(`${name}-test-rule`, testListener, tags);

    const host = args.domainName ? pulumi.output(args.domainName) : this.alb.dnsName;
    this.serviceUrl = pulumi.interpolate`${this.https ? "https" : "http"}://${host}`;
    this.testListenerUrl = pulumi.interpolate`http://${this.alb.dnsName}:${args.testListenerPort}`;
    if (args.domainName && args.hostedZoneId) {
      new aws.route53.Record(`${name}-alias`, {
        zoneId: args.hostedZoneId,
        name: args.domainName,
        type: "A",
        aliases: [{ name: this.alb.dnsName, zoneId: this.alb.zoneId, evaluateTargetHealth: true }],
      }, { parent: this });
    }
    this.registerOutputs({ dnsName: this.alb.dnsName, serviceUrl: this.serviceUrl });
  }

  private certificate(name: string, args: LoadBalancerArgs, tags: Record<string, string>): pulumi.Input<string> | undefined {
    if (args.certificateArn) return args.certificateArn;
    if (!args.domainName || !args.hostedZoneId) return undefined;
    const certificate = new aws.acm.Certificate(`${name}-cert`, { domainName: args.domainName, validationMethod: "DNS", tags }, { parent: this });
    const record = new aws.route53.Record(`${name}-cert-validation`, {
      zoneId: args.hostedZoneId,
      name: certificate.domainValidationOptions[0].resourceRecordName,
      type: certificate.domainValidationOptions[0].resourceRecordType,
      records: [certificate.domainValidationOptions[0].resourceRecordValue],
      ttl: 300,
    }, { parent: this });
    return new aws.acm.CertificateValidation(`${name}-cert-validated`, {
      certificateArn: certificate.arn,
      validationRecordFqdns: [record.fqdn],
    }, { parent: this }).certificateArn;
  }

  private productionListener(name: string, certificateArn: pulumi.Input<string> | undefined, tags: Record<string, string>): aws.lb.Listener {
    // The listeners ECS shifts traffic on hold forward actions only (docs/aws-notes.md): their default
    // action forwards like the rule (which catches every path first), and is left to ECS after creation.
    const owned = { parent: this, ignoreChanges: ["defaultActions"] };
    if (!certificateArn) {
      return new aws.lb.Listener(`${name}-http`, { loadBalancerArn: this.alb.arn, port: 80, protocol: "HTTP", defaultActions: this.forwardActions(), tags }, owned);
    }
    new aws.lb.Listener(`${name}-http-redirect`, {
      loadBalancerArn: this.alb.arn,
      port: 80,
      protocol: "HTTP",
      defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
      tags,
    }, { parent: this });
    return new aws.lb.Listener(`${name}-https`, {
      loadBalancerArn: this.alb.arn,
      port: 443,
      protocol: "HTTPS",
      sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
      certificateArn,
      defaultActions: this.forwardActions(),
      tags,
    }, owned);
  }

  /** Forward to blue (all traffic) and green (none): the weights ECS rewrites on every deployment. */
  private forwardActions() {
    return [{
      type: "forward",
      forward: {
        targetGroups: [
          { arn: this.blueTargetGroup.arn, weight: 100 },
          { arn: this.greenTargetGroup.arn, weight: 0 },
        ],
      },
    }];
  }

  private forwardRule(ruleName: string, listener: aws.lb.Listener, tags: Record<string, string>): aws.lb.ListenerRule {
    return new aws.lb.ListenerRule(ruleName, {
      listenerArn: listener.arn,
      priority: 100,
      conditions: [{ pathPattern: { values: ["/*"] } }],
      actions: this.forwardActions(),
      tags,
      // ECS blue/green rewrites these weights on every deployment: Pulumi must not put them back.
    }, { parent: this, ignoreChanges: ["actions"] });
  }
}
