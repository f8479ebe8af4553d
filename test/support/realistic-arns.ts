import { createHash } from "node:crypto";
import { FAKE_ACCOUNT } from "../../scripts/lib/pulumi-mocks";

/**
 * Identifiers and ARNs the way AWS would assign them, for the mock harness's `state` hook. The
 * default mock state names everything after the Pulumi resource name (`vpc/friday-prod-network-vpc`,
 * `subnet-id`…), which is not what a policy will meet in AWS: there a subnet is `subnet-0abc…`, a
 * service ARN carries its cluster's name, an RDS-managed secret is `rds!db-<uuid>-Ab12Cd`, a log
 * group ARN has no `:*`, an S3 bucket ARN has no region or account. IAM policies built from these
 * values are the ones AWS would evaluate, so a simulation over them means something.
 *
 * Every value is a pure function of the resource's type and Pulumi name (hashed), so two stacks get
 * different IDs and a run is reproducible.
 */

function hex(seed: string, length: number): string {
  let out = "";
  for (let i = 0; out.length < length; i++) out += createHash("sha256").update(`${seed}#${i}`).digest("hex");
  return out.slice(0, length);
}

function uuid(seed: string): string {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Secrets Manager appends six random characters to a secret's name in its ARN. */
function secretSuffix(seed: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return [...hex(seed, 12).matchAll(/../g)].slice(0, 6).map(([pair]) => alphabet[parseInt(pair, 16) % alphabet.length]).join("");
}

/** Pulumi's auto-naming: the resource name plus a random suffix (7 hex characters). */
function autoName(type: string, name: string, inputs: Record<string, any>): string {
  return inputs.name ?? `${name}-${hex(`${type}/${name}`, 7)}`;
}

/** The last path segment of an ARN or a plain name. */
const lastSegment = (value: string) => String(value).split("/").pop()!;

/**
 * A `state` hook for installMocks/runOffline: the attributes AWS would give the resource, laid over
 * the default fake state. Resource types not listed keep the default fake state.
 */
export function realisticState(region: string, account = FAKE_ACCOUNT) {
  const arn = (service: string, resource: string, r = region) => `arn:aws:${service}:${r}:${account}:${resource}`;
  return (type: string, name: string, inputs: Record<string, any>): Record<string, any> | undefined => {
    const seed = `${type}/${name}`;
    const ec2 = (prefix: string, kind: string) => {
      const id = `${prefix}-0${hex(seed, 16)}`;
      return { id, arn: arn("ec2", `${kind}/${id}`) };
    };
    switch (type) {
      case "aws:ec2/vpc:Vpc":
        return ec2("vpc", "vpc");
      case "aws:ec2/subnet:Subnet":
        return ec2("subnet", "subnet");
      case "aws:ec2/securityGroup:SecurityGroup":
        return ec2("sg", "security-group");
      case "aws:ec2/routeTable:RouteTable":
        return ec2("rtb", "route-table");
      case "aws:ec2/natGateway:NatGateway":
        return ec2("nat", "natgateway");
      case "aws:ec2/internetGateway:InternetGateway":
        return ec2("igw", "internet-gateway");
      case "aws:ec2/vpcEndpoint:VpcEndpoint":
        return ec2("vpce", "vpc-endpoint");
      case "aws:ec2/eip:Eip":
        return { id: `eipalloc-0${hex(seed, 16)}`, allocationId: `eipalloc-0${hex(seed, 16)}` };
      case "aws:ecs/cluster:Cluster": {
        const n = autoName(type, name, inputs);
        return { id: arn("ecs", `cluster/${n}`), arn: arn("ecs", `cluster/${n}`), name: n };
      }
      case "aws:ecs/service:Service": {
        const n = autoName(type, name, inputs);
        const a = arn("ecs", `service/${lastSegment(inputs.cluster ?? "default")}/${n}`);
        return { id: a, arn: a, name: n };
      }
      case "aws:ecs/taskDefinition:TaskDefinition": {
        const family = inputs.family ?? autoName(type, name, inputs);
        return { arn: arn("ecs", `task-definition/${family}:1`), arnWithoutRevision: arn("ecs", `task-definition/${family}`), revision: 1, id: family };
      }
      case "aws:rds/instance:Instance": {
        const id = String(inputs.identifier ?? autoName(type, name, inputs)).toLowerCase();
        const resourceId = `db-${hex(seed, 26).toUpperCase()}`;
        // RDS names the master secret rds!db-<uuid> and tags it aws:rds:primaryDBInstanceArn.
        const secretName = `rds!db-${uuid(seed)}`;
        return {
          id,
          identifier: id,
          arn: arn("rds", `db:${id}`),
          resourceId,
          address: `${id}.c${hex(seed, 11)}.${region}.rds.amazonaws.com`,
          endpoint: `${id}.c${hex(seed, 11)}.${region}.rds.amazonaws.com:5432`,
          masterUserSecrets: inputs.manageMasterUserPassword
            ? [{ secretArn: arn("secretsmanager", `secret:${secretName}-${secretSuffix(seed)}`), kmsKeyId: "", secretStatus: "active" }]
            : [],
        };
      }
      case "aws:rds/subnetGroup:SubnetGroup": {
        const n = String(autoName(type, name, inputs)).toLowerCase();
        return { id: n, name: n, arn: arn("rds", `subgrp:${n}`) };
      }
      case "aws:rds/parameterGroup:ParameterGroup": {
        const n = String(autoName(type, name, inputs)).toLowerCase();
        return { id: n, name: n, arn: arn("rds", `pg:${n}`) };
      }
      case "aws:secretsmanager/secret:Secret": {
        const a = arn("secretsmanager", `secret:${autoName(type, name, inputs)}-${secretSuffix(seed)}`);
        return { id: a, arn: a };
      }
      case "aws:ssm/parameter:Parameter":
        return { id: inputs.name, arn: arn("ssm", `parameter${String(inputs.name).startsWith("/") ? "" : "/"}${inputs.name}`) };
      case "aws:ecr/repository:Repository": {
        const n = autoName(type, name, inputs);
        return { id: n, name: n, arn: arn("ecr", `repository/${n}`), repositoryUrl: `${account}.dkr.ecr.${region}.amazonaws.com/${n}`, registryId: account };
      }
      case "aws:sns/topic:Topic": {
        const n = autoName(type, name, inputs);
        return { id: arn("sns", n), arn: arn("sns", n), name: n };
      }
      case "aws:kms/key:Key": {
        const id = uuid(seed);
        return { id, keyId: id, arn: arn("kms", `key/${id}`) };
      }
      case "aws:cloudwatch/logGroup:LogGroup": {
        const n = autoName(type, name, inputs);
        return { id: n, name: n, arn: arn("logs", `log-group:${n}`) };
      }
      case "aws:cloudwatch/metricAlarm:MetricAlarm": {
        const n = autoName(type, name, inputs);
        return { id: n, name: n, arn: arn("cloudwatch", `alarm:${n}`) };
      }
      case "aws:cloudwatch/eventRule:EventRule": {
        const n = autoName(type, name, inputs);
        return { id: n, name: n, arn: arn("events", `rule/${n}`) };
      }
      case "aws:s3/bucket:Bucket":
      case "aws:s3/bucketV2:BucketV2": {
        const bucket = inputs.bucket ?? `${inputs.bucketPrefix ?? `${name}-`}${hex(seed, 24)}`.toLowerCase();
        return { id: bucket, bucket, arn: `arn:aws:s3:::${bucket}`, bucketDomainName: `${bucket}.s3.amazonaws.com`, bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com` };
      }
      case "aws:lambda/function:Function": {
        const n = autoName(type, name, inputs);
        return { id: n, name: n, arn: arn("lambda", `function:${n}`), invokeArn: `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${arn("lambda", `function:${n}`)}/invocations` };
      }
      case "aws:iam/role:Role": {
        const n = autoName(type, name, inputs);
        return { id: n, name: n, arn: `arn:aws:iam::${account}:role${inputs.path ?? "/"}${n}`, uniqueId: `AROA${hex(seed, 17).toUpperCase()}` };
      }
      case "aws:iam/policy:Policy": {
        const n = autoName(type, name, inputs);
        const a = `arn:aws:iam::${account}:policy${inputs.path ?? "/"}${n}`;
        return { id: a, arn: a, name: n };
      }
      case "aws:lb/loadBalancer:LoadBalancer": {
        const n = autoName(type, name, inputs).slice(0, 32);
        const suffix = `app/${n}/${hex(seed, 16)}`;
        return { id: arn("elasticloadbalancing", `loadbalancer/${suffix}`), arn: arn("elasticloadbalancing", `loadbalancer/${suffix}`), arnSuffix: suffix, name: n };
      }
      case "aws:lb/targetGroup:TargetGroup": {
        const n = autoName(type, name, inputs).slice(0, 32);
        const suffix = `targetgroup/${n}/${hex(seed, 16)}`;
        return { id: arn("elasticloadbalancing", suffix), arn: arn("elasticloadbalancing", suffix), arnSuffix: suffix, name: n };
      }
      case "aws:lb/listener:Listener": {
        const lb = String(inputs.loadBalancerArn ?? "").replace(":loadbalancer/", ":listener/");
        const a = `${lb}/${hex(seed, 16)}`;
        return { id: a, arn: a };
      }
      case "aws:lb/listenerRule:ListenerRule": {
        const a = `${String(inputs.listenerArn ?? "").replace(":listener/", ":listener-rule/")}/${hex(seed, 16)}`;
        return { id: a, arn: a };
      }
      case "aws:codebuild/project:Project": {
        const n = autoName(type, name, inputs);
        return { id: arn("codebuild", `project/${n}`), arn: arn("codebuild", `project/${n}`), name: n };
      }
      case "aws:codepipeline/pipeline:Pipeline": {
        const n = autoName(type, name, inputs);
        return { id: n, name: n, arn: arn("codepipeline", n) };
      }
      case "aws:codeconnections/connection:Connection":
        return { id: arn("codeconnections", `connection/${uuid(seed)}`), arn: arn("codeconnections", `connection/${uuid(seed)}`) };
      case "aws:appconfig/application:Application": {
        const id = hex(seed, 7);
        return { id, arn: arn("appconfig", `application/${id}`) };
      }
      case "aws:appconfig/environment:Environment": {
        const id = hex(seed, 7);
        return { id: `${id}:${inputs.applicationId}`, environmentId: id, arn: arn("appconfig", `application/${inputs.applicationId}/environment/${id}`) };
      }
      case "aws:appconfig/configurationProfile:ConfigurationProfile": {
        const id = hex(seed, 7);
        return { id: `${id}:${inputs.applicationId}`, configurationProfileId: id, arn: arn("appconfig", `application/${inputs.applicationId}/configurationprofile/${id}`) };
      }
      case "aws:appconfig/deploymentStrategy:DeploymentStrategy": {
        const id = hex(seed, 7);
        return { id, arn: arn("appconfig", `deploymentstrategy/${id}`) };
      }
      case "aws:scheduler/schedule:Schedule": {
        const n = autoName(type, name, inputs);
        return { id: `${inputs.groupName ?? "default"}/${n}`, name: n, arn: arn("scheduler", `schedule/${inputs.groupName ?? "default"}/${n}`) };
      }
      default:
        return undefined;
    }
  };
}
