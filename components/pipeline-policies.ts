/**
 * The IAM policy documents of the delivery pipeline's roles, as pure functions of plain strings, so
 * tests can read them without Pulumi. Every statement names the ARNs it acts on; the only `"*"`
 * resources are the actions AWS does not let a policy scope (listed in WILDCARD_ONLY_ACTIONS).
 * test/iam-simulation.test.ts evaluates them, with every other role of both stacks, against the
 * other stack's resources.
 */

import { parameterPrefix, refreshReplacementPattern } from "../infra/naming";
import { taskSecretStatements } from "./blue-green-service";

/** A stack's identifiers the pipeline's roles are scoped to (resolved values of the stack's outputs). */
export interface StackScope {
  /** "staging" or "prod": the SSM prefix /friday/<stack> and names. */
  readonly stack: string;
  readonly region: string;
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly serviceArn: string;
  readonly serviceName: string;
  readonly taskDefinitionFamily: string;
  /** Comma-separated. */
  readonly rollbackAlarmNames: string;
  /** Comma-separated. */
  readonly privateSubnetIds: string;
  readonly serviceSecurityGroupId: string;
  readonly vpcId: string;
  readonly dbSecretArn: string;
  readonly dbInstanceIdentifier: string;
  readonly taskRoleArn: string;
  readonly taskExecutionRoleArn: string;
  /** The stack's image repository (the pipeline pushes to prod's). */
  readonly ecrRepositoryArn: string;
}

/** Where the policies live: account, partition, and the pipeline's own resources. */
export interface PipelineScope {
  readonly account: string;
  readonly partition: string;
  /** Region of the pipeline (and its CodeBuild projects, log groups, bucket). */
  readonly region: string;
  readonly artifactsBucketArn: string;
  readonly artifactsKeyArn: string;
}

export interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Statement[];
}

/**
 * Actions that AWS authorizes only with `Resource: "*"`: the Service Authorization Reference lists no
 * resource type for them (test/iam-simulation.test.ts checks each against its data). RegisterTaskDefinition
 * is not among them: it takes the task-definition resource type, so it is scoped to the stack's family.
 */
export const WILDCARD_ONLY_ACTIONS: readonly string[] = [
  "ecr:GetAuthorizationToken",
  "ecs:DescribeTaskDefinition",
  "ec2:DescribeDhcpOptions",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSubnets",
  "ec2:DescribeSecurityGroups",
  "ec2:DescribeVpcs",
];

export function splitList(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const arn = (p: PipelineScope, service: string, region: string, resource: string) =>
  `arn:${p.partition}:${service}:${region}:${p.account}:${resource}`;

/** ARNs of one stack's resources, as the roles name them. */
export function stackArns(p: PipelineScope, s: StackScope) {
  return {
    parameters: arn(p, "ssm", s.region, `parameter${parameterPrefix(s.stack)}/*`),
    taskDefinitions: arn(p, "ecs", s.region, `task-definition/${s.taskDefinitionFamily}:*`),
    serviceDeployments: arn(p, "ecs", s.region, `service-deployment/${s.clusterName}/${s.serviceName}/*`),
    serviceRevisions: arn(p, "ecs", s.region, `service-revision/${s.clusterName}/${s.serviceName}/*`),
    tasks: arn(p, "ecs", s.region, `task/${s.clusterName}/*`),
    alarms: splitList(s.rollbackAlarmNames).map((name) => arn(p, "cloudwatch", s.region, `alarm:${name}`)),
    dbInstance: arn(p, "rds", s.region, `db:${s.dbInstanceIdentifier}`),
    subnets: splitList(s.privateSubnetIds).map((id) => arn(p, "ec2", s.region, `subnet/${id}`)),
    securityGroup: arn(p, "ec2", s.region, `security-group/${s.serviceSecurityGroupId}`),
    vpc: arn(p, "ec2", s.region, `vpc/${s.vpcId}`),
    networkInterfaces: arn(p, "ec2", s.region, "network-interface/*"),
  };
}

/** What every CodeBuild role needs: its own log group, the artifacts it reads/writes, the CLI bundle. */
export function baseStatements(p: PipelineScope, projectName: string, opts: { writesArtifacts: boolean }): Statement[] {
  const logGroup = arn(p, "logs", p.region, `log-group:/aws/codebuild/${projectName}`);
  return [
    { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [logGroup, `${logGroup}:*`] },
    {
      Sid: "ReadArtifacts",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion"],
      Resource: [`${p.artifactsBucketArn}/*`],
    },
    ...(opts.writesArtifacts
      ? [{ Sid: "WriteArtifacts", Effect: "Allow" as const, Action: ["s3:PutObject"], Resource: [`${p.artifactsBucketArn}/*`] }]
      : []),
    {
      Sid: "ArtifactsKey",
      Effect: "Allow",
      Action: opts.writesArtifacts ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"],
      Resource: [p.artifactsKeyArn],
    },
  ];
}

/** Runs inside a stack's VPC: CodeBuild creates and deletes its network interfaces there only. */
export function vpcStatements(p: PipelineScope, s: StackScope): Statement[] {
  const a = stackArns(p, s);
  return [
    { Sid: "VpcDescribe", Effect: "Allow", Action: [...WILDCARD_ONLY_ACTIONS.filter((x) => x.startsWith("ec2:"))], Resource: ["*"] },
    {
      Sid: "VpcCreateInterface",
      Effect: "Allow",
      Action: ["ec2:CreateNetworkInterface"],
      Resource: [a.networkInterfaces, ...a.subnets, a.securityGroup],
    },
    {
      Sid: "VpcDeleteInterface",
      Effect: "Allow",
      Action: ["ec2:DeleteNetworkInterface"],
      Resource: [a.networkInterfaces],
      Condition: { ArnEquals: { "ec2:Vpc": a.vpc } },
    },
    {
      Sid: "VpcInterfacePermission",
      Effect: "Allow",
      Action: ["ec2:CreateNetworkInterfacePermission"],
      Resource: [a.networkInterfaces],
      Condition: { StringEquals: { "ec2:AuthorizedService": "codebuild.amazonaws.com" }, ArnEquals: { "ec2:Subnet": a.subnets } },
    },
  ];
}

/** Reads the stack's published identifiers (/friday/<stack>/*) — how every friday command finds things. */
export function parameterStatements(p: PipelineScope, s: StackScope): Statement[] {
  return [
    {
      Sid: "StackParameters",
      Effect: "Allow",
      Action: ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
      Resource: [stackArns(p, s).parameters],
    },
  ];
}

/** Reading a stack's service, deployments and rollback alarms (gate, deploy). */
export function observeStatements(p: PipelineScope, s: StackScope): Statement[] {
  const a = stackArns(p, s);
  return [
    ...parameterStatements(p, s),
    {
      Sid: "ObserveService",
      Effect: "Allow",
      Action: ["ecs:DescribeServices", "ecs:ListServiceDeployments"],
      Resource: [s.serviceArn],
    },
    {
      Sid: "ObserveDeployments",
      Effect: "Allow",
      Action: ["ecs:DescribeServiceDeployments"],
      Resource: [a.serviceDeployments],
    },
    {
      Sid: "ObserveRevisions",
      Effect: "Allow",
      Action: ["ecs:DescribeServiceRevisions"],
      Resource: [a.serviceRevisions],
    },
    {
      // The ECS authorization reference lists no resource type for DescribeTaskDefinition: "*" is required.
      Sid: "ObserveTaskDefinitions",
      Effect: "Allow",
      Action: ["ecs:DescribeTaskDefinition"],
      Resource: ["*"],
    },
    ...(a.alarms.length
      ? [{ Sid: "RollbackAlarms", Effect: "Allow" as const, Action: ["cloudwatch:DescribeAlarms"], Resource: a.alarms }]
      : []),
  ];
}

/** The deploy step: registers a revision in the stack's family and updates the stack's service. */
export function deployStatements(p: PipelineScope, s: StackScope): Statement[] {
  const a = stackArns(p, s);
  return [
    ...observeStatements(p, s),
    {
      // Revisions of the stack's own family only: a revision planted in the other stack's family could
      // be what a rollback there picks. What a revision may run as is bounded by PassTaskRoles below,
      // and what it may replace by UpdateService on this one service.
      Sid: "RegisterRevision",
      Effect: "Allow",
      Action: ["ecs:RegisterTaskDefinition", "ecs:TagResource"],
      Resource: [a.taskDefinitions],
    },
    { Sid: "UpdateService", Effect: "Allow", Action: ["ecs:UpdateService"], Resource: [s.serviceArn] },
    {
      Sid: "PassTaskRoles",
      Effect: "Allow",
      Action: ["iam:PassRole"],
      Resource: [s.taskRoleArn, s.taskExecutionRoleArn],
      Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
    },
  ];
}

/**
 * The stack's database master secret, found at run time through SSM (db-secret-arn): a staging
 * refresh swaps in an instance with a new RDS-managed secret, so the ARN at `pulumi up` time goes
 * stale. Granted by owner like the app's execution role (taskSecretStatements): `rds!db-*` secrets
 * tagged with the stack's database, or with an instance the refresh swaps in under that name.
 */
export function databaseSecretStatement(p: PipelineScope, s: StackScope): Statement {
  const [grant] = taskSecretStatements([s.dbSecretArn], [s.dbInstanceIdentifier, refreshReplacementPattern(s.stack)]) as Array<{ Resource: string[]; Condition: Statement["Condition"] }>;
  return { Sid: "DatabaseSecret", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: grant.Resource, Condition: grant.Condition };
}

/** Expand migrations: finds the stack's database and reads its master secret. */
export function migrateStatements(p: PipelineScope, s: StackScope): Statement[] {
  const a = stackArns(p, s);
  return [
    ...vpcStatements(p, s),
    ...parameterStatements(p, s),
    { Sid: "FindDatabase", Effect: "Allow", Action: ["rds:DescribeDBInstances"], Resource: [a.dbInstance] },
    databaseSecretStatement(p, s),
  ];
}

/** Builds and pushes the image to the prod stack's repository (the only registry images live in). */
export function buildStatements(ecrRepositoryArn: string): Statement[] {
  return [
    { Sid: "RegistryLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] },
    {
      Sid: "PushImage",
      Effect: "Allow",
      Action: [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:DescribeImages",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
      ],
      Resource: [ecrRepositoryArn],
    },
  ];
}

/**
 * Publishing to an SNS topic encrypted with a customer-managed key: SNS generates and decrypts the
 * message's data key with the publisher's own permissions, so the publisher needs both on the key
 * (SNS developer guide, "Managing Amazon SNS encryption keys", see docs/aws-notes.md), through SNS only.
 */
export function encryptedTopicPublishStatements(p: PipelineScope, topic: { arn: string; keyArn: string }, sid: string): Statement[] {
  return [
    { Sid: sid, Effect: "Allow", Action: ["sns:Publish"], Resource: [topic.arn] },
    {
      Sid: `${sid}Key`,
      Effect: "Allow",
      Action: ["kms:GenerateDataKey", "kms:Decrypt"],
      Resource: [topic.keyArn],
      Condition: { StringEquals: { "kms:ViaService": `sns.${p.region}.amazonaws.com` } },
    },
  ];
}

/** The pipeline's own role: artifacts, the source connection, its CodeBuild projects, approvals, alarm rules. */
export function pipelineStatements(
  p: PipelineScope,
  opts: { connectionArn: string; projectArns: string[]; approvalTopic?: { arn: string; keyArn: string }; conditionAlarmArns: string[] },
): Statement[] {
  return [
    {
      Sid: "Artifacts",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:PutObjectAcl"],
      Resource: [`${p.artifactsBucketArn}/*`],
    },
    { Sid: "ArtifactsBucket", Effect: "Allow", Action: ["s3:GetBucketVersioning", "s3:GetBucketLocation"], Resource: [p.artifactsBucketArn] },
    { Sid: "ArtifactsKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [p.artifactsKeyArn] },
    {
      Sid: "Source",
      Effect: "Allow",
      Action: ["codeconnections:UseConnection", "codestar-connections:UseConnection"],
      Resource: [opts.connectionArn],
    },
    { Sid: "Builds", Effect: "Allow", Action: ["codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild"], Resource: opts.projectArns },
    ...(opts.approvalTopic ? encryptedTopicPublishStatements(p, opts.approvalTopic, "Approval") : []),
    ...(opts.conditionAlarmArns.length
      ? [{ Sid: "StageConditions", Effect: "Allow" as const, Action: ["cloudwatch:DescribeAlarms"], Resource: opts.conditionAlarmArns }]
      : []),
  ];
}

export function document(statements: Statement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}
