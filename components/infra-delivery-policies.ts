/**
 * The IAM policy documents of the steps that run Pulumi itself (pull-request previews, and the
 * pipeline's `pulumi up` of staging, then prod), as pure functions of plain strings so tests read
 * them without Pulumi.
 *
 * What each role may touch is the resource types the two stacks manage (INFRA_SERVICES names the
 * actions per service; a test fails when the program registers a type no entry covers), scoped to
 * the account and region, IAM roles and S3 buckets by name, and the state backend by stack. On top,
 * each role is denied everything on the other stack's resources: by the `friday:stack` tag that
 * `aws:defaultTags` puts on every taggable resource, by name, by SSM path and by state object.
 */

import { parameterPrefix, permissionsBoundaryArn, PROJECT_NAME, stackResourcePrefix, type StackName } from "../infra/naming";
import type { PolicyDocument, Statement } from "./pipeline-policies";

/** Where Pulumi keeps the stacks' state. */
export type StateBackend =
  | { readonly kind: "s3"; readonly bucket: string; readonly prefix: string; readonly keyAlias: string }
  | { readonly kind: "cloud"; readonly accessTokenSecretArn: string };

/** Everything the infra roles are scoped to. */
export interface InfraScope {
  readonly account: string;
  readonly partition: string;
  readonly region: string;
  /** The Pulumi project (Pulumi.yaml `name`). */
  readonly project: string;
  readonly backend: StateBackend;
}

/** Parses `friday:pipeline.infra` into the backend the roles are scoped to. */
export function stateBackendOf(infra: { backendUrl: string; secretsProvider?: string; accessTokenSecretArn?: string }): StateBackend {
  const s3 = /^s3:\/\/([^/?]+)(\/[^?]*)?/.exec(infra.backendUrl);
  if (s3) {
    const alias = /^awskms:\/\/(alias\/[^?]+)/.exec(infra.secretsProvider ?? "");
    if (!alias) throw new Error(`friday:pipeline.infra.secretsProvider must be "awskms://alias/<name>?region=<region>" with an S3 backend (got ${JSON.stringify(infra.secretsProvider)}).`);
    const prefix = (s3[2] ?? "").replace(/^\/+|\/+$/g, "");
    return { kind: "s3", bucket: s3[1], prefix: prefix ? `${prefix}/` : "", keyAlias: alias[1] };
  }
  if (!infra.accessTokenSecretArn) throw new Error("friday:pipeline.infra.accessTokenSecretArn is required with Pulumi Cloud.");
  return { kind: "cloud", accessTokenSecretArn: infra.accessTokenSecretArn };
}

/**
 * Per AWS service: the read actions `pulumi preview` and the provider's reads after a change need,
 * and the write actions `pulumi up` needs, for the resource types friday's stacks register
 * (`types`: the Pulumi type prefixes each entry covers). Explicit names only: no `*` actions.
 */
export const INFRA_SERVICES: Record<string, { types: string[]; read: string[]; write: string[] }> = {
  ec2: {
    types: ["aws:ec2/", "aws:vpc/"],
    read: [
      "ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeSubnets", "ec2:DescribeInternetGateways", "ec2:DescribeNatGateways",
      "ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups",
      "ec2:DescribeSecurityGroupRules", "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcEndpointServices", "ec2:DescribePrefixLists",
      "ec2:DescribeAvailabilityZones", "ec2:DescribeNetworkInterfaces", "ec2:DescribeNetworkAcls", "ec2:DescribeTags", "ec2:DescribeAccountAttributes",
    ],
    write: [
      "ec2:CreateVpc", "ec2:DeleteVpc", "ec2:ModifyVpcAttribute", "ec2:CreateSubnet", "ec2:DeleteSubnet", "ec2:ModifySubnetAttribute",
      "ec2:CreateInternetGateway", "ec2:DeleteInternetGateway", "ec2:AttachInternetGateway", "ec2:DetachInternetGateway",
      "ec2:AllocateAddress", "ec2:ReleaseAddress", "ec2:DisassociateAddress", "ec2:CreateNatGateway", "ec2:DeleteNatGateway",
      "ec2:CreateRouteTable", "ec2:DeleteRouteTable", "ec2:CreateRoute", "ec2:DeleteRoute", "ec2:ReplaceRoute",
      "ec2:AssociateRouteTable", "ec2:DisassociateRouteTable", "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup",
      "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
      "ec2:ModifySecurityGroupRules", "ec2:UpdateSecurityGroupRuleDescriptionsIngress", "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
      "ec2:CreateVpcEndpoint", "ec2:DeleteVpcEndpoints", "ec2:ModifyVpcEndpoint", "ec2:CreateTags", "ec2:DeleteTags",
    ],
  },
  rds: {
    types: ["aws:rds/"],
    read: ["rds:DescribeDBInstances", "rds:DescribeDBParameterGroups", "rds:DescribeDBParameters", "rds:DescribeDBSubnetGroups", "rds:ListTagsForResource", "rds:DescribeDBEngineVersions"],
    write: [
      "rds:CreateDBInstance", "rds:ModifyDBInstance", "rds:DeleteDBInstance", "rds:RebootDBInstance", "rds:CreateDBParameterGroup",
      "rds:ModifyDBParameterGroup", "rds:DeleteDBParameterGroup", "rds:ResetDBParameterGroup", "rds:CreateDBSubnetGroup", "rds:ModifyDBSubnetGroup",
      "rds:DeleteDBSubnetGroup", "rds:AddTagsToResource", "rds:RemoveTagsFromResource", "rds:CreateDBSnapshot",
    ],
  },
  ecs: {
    types: ["aws:ecs/"],
    read: ["ecs:DescribeClusters", "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "ecs:ListTagsForResource", "ecs:ListTaskDefinitions"],
    write: [
      "ecs:CreateCluster", "ecs:UpdateCluster", "ecs:UpdateClusterSettings", "ecs:PutClusterCapacityProviders", "ecs:DeleteCluster",
      "ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition",
      "ecs:DeleteTaskDefinitions", "ecs:TagResource", "ecs:UntagResource",
    ],
  },
  elasticloadbalancing: {
    types: ["aws:lb/"],
    read: [
      "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeListenerCertificates",
    ],
    write: [
      "elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyLoadBalancerAttributes",
      "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets", "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
      "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule",
      "elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities", "elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags",
    ],
  },
  applicationAutoscaling: {
    types: ["aws:appautoscaling/"],
    read: ["application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies", "application-autoscaling:ListTagsForResource"],
    write: [
      "application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:PutScalingPolicy",
      "application-autoscaling:DeleteScalingPolicy", "application-autoscaling:TagResource", "application-autoscaling:UntagResource",
    ],
  },
  appconfig: {
    types: ["aws:appconfig/"],
    read: [
      "appconfig:GetApplication", "appconfig:GetEnvironment", "appconfig:GetConfigurationProfile", "appconfig:GetDeploymentStrategy",
      "appconfig:GetDeployment", "appconfig:GetHostedConfigurationVersion", "appconfig:ListTagsForResource", "appconfig:ListDeployments",
    ],
    write: [
      "appconfig:CreateApplication", "appconfig:UpdateApplication", "appconfig:DeleteApplication", "appconfig:CreateEnvironment",
      "appconfig:UpdateEnvironment", "appconfig:DeleteEnvironment", "appconfig:CreateConfigurationProfile", "appconfig:UpdateConfigurationProfile",
      "appconfig:DeleteConfigurationProfile", "appconfig:CreateDeploymentStrategy", "appconfig:UpdateDeploymentStrategy", "appconfig:DeleteDeploymentStrategy",
      "appconfig:CreateHostedConfigurationVersion", "appconfig:DeleteHostedConfigurationVersion", "appconfig:StartDeployment", "appconfig:StopDeployment",
      "appconfig:TagResource", "appconfig:UntagResource",
    ],
  },
  events: {
    types: ["aws:cloudwatch/eventRule", "aws:cloudwatch/eventTarget"],
    read: ["events:DescribeRule", "events:ListTargetsByRule", "events:ListTagsForResource"],
    write: ["events:PutRule", "events:DeleteRule", "events:EnableRule", "events:DisableRule", "events:PutTargets", "events:RemoveTargets", "events:TagResource", "events:UntagResource"],
  },
  logs: {
    types: ["aws:cloudwatch/logGroup", "aws:cloudwatch/logMetricFilter"],
    read: ["logs:DescribeLogGroups", "logs:DescribeMetricFilters", "logs:ListTagsForResource", "logs:ListTagsLogGroup"],
    write: [
      "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:AssociateKmsKey",
      "logs:PutMetricFilter", "logs:DeleteMetricFilter", "logs:TagResource", "logs:UntagResource", "logs:TagLogGroup", "logs:UntagLogGroup",
    ],
  },
  cloudwatch: {
    types: ["aws:cloudwatch/metricAlarm", "aws:cloudwatch/compositeAlarm", "aws:cloudwatch/dashboard"],
    read: ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource", "cloudwatch:GetDashboard"],
    write: ["cloudwatch:PutMetricAlarm", "cloudwatch:PutCompositeAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
  },
  codebuild: {
    types: ["aws:codebuild/"],
    read: ["codebuild:BatchGetProjects"],
    write: [
      "codebuild:CreateProject", "codebuild:UpdateProject", "codebuild:DeleteProject", "codebuild:CreateWebhook", "codebuild:UpdateWebhook",
      "codebuild:DeleteWebhook",
    ],
  },
  codepipeline: {
    types: ["aws:codepipeline/"],
    read: ["codepipeline:GetPipeline", "codepipeline:ListTagsForResource"],
    write: ["codepipeline:CreatePipeline", "codepipeline:UpdatePipeline", "codepipeline:DeletePipeline", "codepipeline:TagResource", "codepipeline:UntagResource"],
  },
  codeconnections: {
    types: ["aws:codeconnections/"],
    read: ["codeconnections:GetConnection", "codeconnections:ListTagsForResource"],
    write: ["codeconnections:CreateConnection", "codeconnections:DeleteConnection", "codeconnections:TagResource", "codeconnections:UntagResource"],
  },
  ecr: {
    types: ["aws:ecr/"],
    read: ["ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy", "ecr:ListTagsForResource", "ecr:DescribeImages"],
    write: [
      "ecr:CreateRepository", "ecr:DeleteRepository", "ecr:PutImageTagMutability", "ecr:PutImageScanningConfiguration", "ecr:PutLifecyclePolicy",
      "ecr:DeleteLifecyclePolicy", "ecr:SetRepositoryPolicy", "ecr:DeleteRepositoryPolicy", "ecr:TagResource", "ecr:UntagResource",
      // The stacks' first images: `pulumi up` builds app/ (and staging's ops image) and pushes them.
      "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage",
      "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
    ],
  },
  iam: {
    types: ["aws:iam/"],
    read: ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions"],
    write: [
      "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRoleDescription", "iam:PutRolePolicy",
      "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary", "iam:TagRole", "iam:UntagRole", "iam:PassRole",
      "iam:CreatePolicy", "iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:TagPolicy", "iam:UntagPolicy",
    ],
  },
  kms: {
    types: ["aws:kms/"],
    read: ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:ListAliases"],
    write: [
      "kms:CreateKey", "kms:PutKeyPolicy", "kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:ScheduleKeyDeletion", "kms:UpdateKeyDescription",
      "kms:TagResource", "kms:UntagResource", "kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias",
    ],
  },
  lambda: {
    types: ["aws:lambda/"],
    read: ["lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:GetFunctionCodeSigningConfig", "lambda:GetPolicy", "lambda:ListVersionsByFunction", "lambda:ListTags", "lambda:GetRuntimeManagementConfig"],
    write: [
      "lambda:CreateFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:DeleteFunction", "lambda:PublishVersion",
      "lambda:AddPermission", "lambda:RemovePermission", "lambda:TagResource", "lambda:UntagResource", "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency",
    ],
  },
  s3: {
    types: ["aws:s3/"],
    read: [
      "s3:GetBucketLocation", "s3:GetBucketPolicy", "s3:GetBucketVersioning", "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration",
      "s3:GetBucketOwnershipControls", "s3:GetBucketPublicAccessBlock", "s3:GetBucketTagging", "s3:GetBucketAcl", "s3:GetBucketCORS",
      "s3:GetBucketWebsite", "s3:GetBucketLogging", "s3:GetAccelerateConfiguration", "s3:GetBucketRequestPayment", "s3:GetBucketObjectLockConfiguration",
      "s3:GetReplicationConfiguration", "s3:ListBucket", "s3:GetObject", "s3:GetObjectTagging",
    ],
    write: [
      "s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration",
      "s3:PutLifecycleConfiguration", "s3:PutBucketOwnershipControls", "s3:PutBucketPublicAccessBlock", "s3:PutBucketTagging", "s3:PutObject",
      "s3:DeleteObject", "s3:PutObjectTagging",
    ],
  },
  scheduler: {
    types: ["aws:scheduler/"],
    read: ["scheduler:GetSchedule", "scheduler:ListTagsForResource"],
    write: ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule", "scheduler:TagResource", "scheduler:UntagResource"],
  },
  secretsmanager: {
    types: ["aws:secretsmanager/"],
    read: ["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"],
    write: [
      "secretsmanager:CreateSecret", "secretsmanager:DeleteSecret", "secretsmanager:UpdateSecret", "secretsmanager:PutResourcePolicy",
      "secretsmanager:DeleteResourcePolicy", "secretsmanager:TagResource", "secretsmanager:UntagResource",
    ],
  },
  sns: {
    types: ["aws:sns/"],
    read: ["sns:GetTopicAttributes", "sns:ListTagsForResource", "sns:ListSubscriptionsByTopic", "sns:GetSubscriptionAttributes"],
    write: ["sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:Unsubscribe", "sns:TagResource", "sns:UntagResource"],
  },
  ssm: {
    types: ["aws:ssm/"],
    read: ["ssm:GetParameter", "ssm:GetParameters", "ssm:DescribeParameters", "ssm:ListTagsForResource"],
    write: ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"],
  },
};

/** The entry of INFRA_SERVICES covering a Pulumi resource type, if any. */
export function serviceCovering(type: string): string | undefined {
  return Object.entries(INFRA_SERVICES).find(([, s]) => s.types.some((prefix) => type.startsWith(prefix)))?.[0];
}

const arnIn = (s: InfraScope, service: string, resource: string) => `arn:${s.partition}:${service}:${s.region}:${s.account}:${resource}`;
const other = (stack: StackName): StackName => (stack === "prod" ? "staging" : "prod");

/**
 * The state objects of one stack in a DIY (S3) backend: `.pulumi/stacks/<project>/<stack>.json`
 * (with its `.bak`/`.gz` siblings), its history, backups and locks.
 */
export function stateObjectArns(s: InfraScope, stack: StackName): string[] {
  if (s.backend.kind !== "s3") return [];
  const root = `arn:${s.partition}:s3:::${s.backend.bucket}/${s.backend.prefix}.pulumi`;
  return [
    `${root}/stacks/${s.project}/${stack}.json*`,
    `${root}/history/${s.project}/${stack}/*`,
    `${root}/backups/${s.project}/${stack}/*`,
    `${root}/locks/*/${s.project}/${stack}/*`,
  ];
}

/** The secrets provider's key, found by its alias (the key's id is not known when the roles are made). */
function secretsKeyStatement(s: InfraScope, sid: string, actions: string[]): Statement[] {
  if (s.backend.kind !== "s3") return [];
  return [
    {
      Sid: sid,
      Effect: "Allow",
      Action: actions,
      Resource: [arnIn(s, "kms", "key/*")],
      Condition: { "ForAnyValue:StringEquals": { "kms:ResourceAliases": [s.backend.keyAlias] } },
    },
  ];
}

/**
 * Reading state: the stack's own, plus (prod) staging's, which prod's program reads through a
 * StackReference. A preview also takes the stack's lock, so it may write lock objects — and
 * nothing else of the state.
 */
export function stateReadStatements(s: InfraScope, stack: StackName, opts: { takesLock: boolean }): Statement[] {
  if (s.backend.kind === "cloud") {
    return [{ Sid: "PulumiAccessToken", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [s.backend.accessTokenSecretArn] }];
  }
  const bucketArn = `arn:${s.partition}:s3:::${s.backend.bucket}`;
  const readable: StackName[] = stack === "prod" ? ["prod", "staging"] : ["staging"];
  const lockObjects = stateObjectArns(s, stack).filter((arn) => arn.includes("/locks/"));
  return [
    { Sid: "StateBucket", Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"], Resource: [bucketArn] },
    {
      Sid: "ReadState",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion"],
      Resource: [`${bucketArn}/${s.backend.prefix}.pulumi/meta.yaml`, ...readable.flatMap((name) => stateObjectArns(s, name))],
    },
    ...(opts.takesLock ? [{ Sid: "StackLock", Effect: "Allow" as const, Action: ["s3:PutObject", "s3:DeleteObject"], Resource: lockObjects }] : []),
    ...secretsKeyStatement(s, "DecryptStackSecrets", ["kms:Decrypt", "kms:DescribeKey"]),
  ];
}

/** Writing the stack's own state (checkpoints, history, backups) and encrypting its secrets. */
export function stateWriteStatements(s: InfraScope, stack: StackName): Statement[] {
  if (s.backend.kind === "cloud") return [];
  return [
    { Sid: "WriteState", Effect: "Allow", Action: ["s3:PutObject", "s3:DeleteObject"], Resource: stateObjectArns(s, stack) },
    ...secretsKeyStatement(s, "EncryptStackSecrets", ["kms:Encrypt", "kms:GenerateDataKey"]),
  ];
}

/** Every read action of INFRA_SERVICES: what a preview may call. */
export function infraReadActions(): string[] {
  return [...new Set(Object.values(INFRA_SERVICES).flatMap((s) => s.read)), "ecr:GetAuthorizationToken"].sort();
}

/** Every write action of INFRA_SERVICES: what only `pulumi up` may call. */
export function infraWriteActions(): string[] {
  return [...new Set(Object.values(INFRA_SERVICES).flatMap((s) => s.write))].sort();
}

/** Resources friday names itself: IAM roles and policies, and S3 buckets, by the stack's prefix. */
export function namedResources(s: InfraScope, stack: StackName): string[] {
  // The pipeline (prod only) names its roles and bucket "friday-<step>-…": prod's patterns cover them.
  const prefix = stack === "prod" ? `${PROJECT_NAME}-` : stackResourcePrefix(stack);
  return [
    `arn:${s.partition}:iam::${s.account}:role/${prefix}*`,
    `arn:${s.partition}:iam::${s.account}:policy/${prefix}*`,
    `arn:${s.partition}:s3:::${prefix}*`,
    `arn:${s.partition}:s3:::${prefix}*/*`,
  ];
}

/**
 * The IAM actions that make or widen a role's permissions. The infra roles (and, through the
 * boundary, every role) may call them only on roles that carry a friday permissions boundary
 * (`iam:PermissionsBoundary`: the boundary in the request for CreateRole and
 * PutRolePermissionsBoundary, the role's own boundary for the others, per the Service Authorization
 * Reference), so no role `pulumi up` makes can hold more than its boundary allows.
 */
export const BOUNDED_IAM_ACTIONS: readonly string[] = [
  "iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRolePolicy", "iam:UpdateAssumeRolePolicy",
  "iam:PutRolePermissionsBoundary",
];

/** Role changes allowed only on roles that carry one of `boundaries`' permissions boundaries. */
export function withinBoundaryStatement(s: InfraScope, boundaries: StackName[], roles: string[]): Statement {
  return {
    Sid: "RolesWithinBoundary",
    Effect: "Allow",
    Action: [...BOUNDED_IAM_ACTIONS],
    Resource: roles,
    Condition: { StringEquals: { "iam:PermissionsBoundary": boundaries.map((stack) => permissionsBoundaryArn(s.partition, s.account, stack)) } },
  };
}

/** Nobody under friday's roles removes a role's boundary, or edits or deletes a boundary (only `friday bootstrap` does). */
export function boundaryGuardDenies(s: InfraScope): Statement[] {
  return [
    { Sid: "KeepRoleBoundaries", Effect: "Deny", Action: ["iam:DeleteRolePermissionsBoundary"], Resource: ["*"] },
    {
      Sid: "KeepBoundaryPolicies",
      Effect: "Deny",
      Action: ["iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy", "iam:TagPolicy", "iam:UntagPolicy"],
      Resource: (["staging", "prod"] as const).map((stack) => permissionsBoundaryArn(s.partition, s.account, stack)),
    },
  ];
}

/** Regional resources of the services friday uses, in this account and region only. */
function regionalResources(s: InfraScope): string[] {
  const services = ["ec2", "rds", "ecs", "elasticloadbalancing", "application-autoscaling", "appconfig", "events", "logs", "cloudwatch", "codebuild",
    "codepipeline", "codeconnections", "codestar-connections", "ecr", "kms", "lambda", "scheduler", "secretsmanager", "sns", "ssm"];
  return services.map((service) => arnIn(s, service, "*"));
}

/**
 * The actions of INFRA_SERVICES that AWS authorizes only with `Resource: "*"` (the Service
 * Authorization Reference lists no resource type for them). A statement that scopes its resources
 * never matches them, so they get statements of their own; test/iam-simulation.test.ts checks this
 * list against the reference's data, both ways. Their writes only create, or deregister a task
 * definition revision (running services keep theirs).
 */
export const UNSCOPABLE_INFRA_ACTIONS: readonly string[] = [
  "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
  "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute", "ec2:DescribeAvailabilityZones",
  "ec2:DescribeInternetGateways", "ec2:DescribeNatGateways", "ec2:DescribeNetworkAcls", "ec2:DescribeNetworkInterfaces",
  "ec2:DescribePrefixLists", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups",
  "ec2:DescribeSubnets", "ec2:DescribeTags", "ec2:DescribeVpcEndpointServices", "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcs",
  "ecr:GetAuthorizationToken", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions",
  "elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:DescribeListenerCertificates", "elasticloadbalancing:DescribeListeners",
  "elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeRules",
  "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTargetGroups",
  "kms:ListAliases", "logs:DescribeLogGroups", "rds:DescribeDBEngineVersions", "ssm:DescribeParameters",
  "appconfig:CreateApplication", "appconfig:CreateDeploymentStrategy", "codeconnections:CreateConnection", "ecs:DeregisterTaskDefinition", "kms:CreateKey",
];
const scopable = (action: string) => !UNSCOPABLE_INFRA_ACTIONS.includes(action);

/** The read-only statements of a preview. */
export function infraReadStatements(s: InfraScope): Statement[] {
  const actions = infraReadActions();
  const regional = actions.filter((a) => !/^(iam|s3):/.test(a) && a !== "ecr:GetAuthorizationToken");
  return [
    { Sid: "ReadStackResources", Effect: "Allow", Action: regional.filter(scopable), Resource: regionalResources(s) },
    { Sid: "ReadUnscopable", Effect: "Allow", Action: regional.filter((a) => !scopable(a)), Resource: ["*"] },
    { Sid: "ReadNamedResources", Effect: "Allow", Action: actions.filter((a) => /^(iam|s3):/.test(a)), Resource: namedResources(s, "prod") },
    // ECR's authorization reference lists no resource type for GetAuthorizationToken: "*" is required.
    { Sid: "RegistryLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] },
  ];
}

/** Services whose write actions go in the first of the two write policies (a managed policy holds 6,144 characters). */
const FIRST_WRITE_SERVICES = ["ec2", "rds", "ecs", "elasticloadbalancing", "applicationAutoscaling", "appconfig"];

/** What `pulumi up` of one stack may change: the stacks' resource types, in this account and region, by name where friday names them. */
export function infraWriteStatements(s: InfraScope, stack: StackName): Statement[][] {
  const named = (a: string) => /^(iam|s3):/.test(a) && !BOUNDED_IAM_ACTIONS.includes(a);
  const writes = (first: boolean) =>
    [...new Set(Object.entries(INFRA_SERVICES).filter(([key]) => FIRST_WRITE_SERVICES.includes(key) === first).flatMap(([, svc]) => svc.write))].sort();
  return [
    [{ Sid: "WriteNetworkDataAndService", Effect: "Allow", Action: writes(true).filter(scopable), Resource: regionalResources(s) }],
    [
      { Sid: "WriteStackResources", Effect: "Allow", Action: writes(false).filter((a) => !named(a) && scopable(a)), Resource: regionalResources(s) },
      { Sid: "WriteUnscopable", Effect: "Allow", Action: infraWriteActions().filter((a) => !scopable(a)), Resource: ["*"] },
      { Sid: "WriteNamedResources", Effect: "Allow", Action: writes(false).filter(named), Resource: namedResources(s, stack) },
      // Roles only with this stack's boundary: everything the program creates carries it (see permissions-boundary.ts).
      withinBoundaryStatement(s, [stack], namedResources(s, stack).filter((arn) => arn.includes(":role/"))),
      {
        // The only service-linked roles the stacks need (ECS, ELB, RDS and Application Auto Scaling create them on first use).
        Sid: "ServiceLinkedRoles",
        Effect: "Allow",
        Action: ["iam:CreateServiceLinkedRole"],
        Resource: [`arn:${s.partition}:iam::${s.account}:role/aws-service-role/*`],
        Condition: {
          StringEquals: {
            "iam:AWSServiceName": ["ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com", "rds.amazonaws.com", "ecs.application-autoscaling.amazonaws.com"],
          },
        },
      },
    ],
  ];
}

/**
 * The tag on the few resources of prod's stack that the pipeline's staging steps (staging's infra
 * step and its pull-request preview) use: the artifacts key and bucket (their input, the CLI bundle)
 * and each step's own CodeBuild log group. Prod's stack holds them, so they carry friday:stack=prod,
 * and staging's deny of prod-tagged resources would cancel the steps' own allows on them
 * (pipeline-policies.ts baseStatements). That deny leaves resources with this tag out, and
 * DenyStagingStepsResourceWrites keeps them from every change the infra role could otherwise make.
 */
export const STAGING_STEPS_TAG = { key: "friday:used-by", value: "staging-steps" } as const;
/** STAGING_STEPS_TAG as a resource's `tags`. */
export const STAGING_STEPS_TAGS: Record<string, string> = { [STAGING_STEPS_TAG.key]: STAGING_STEPS_TAG.value };

/** Service prefixes of everything the infra roles may do: the denies below name them whole. */
function deniedServices(): string[] {
  const prefixes = new Set(infraWriteActions().map((a) => a.split(":")[0]));
  return [...prefixes].sort().map((prefix) => `${prefix}:*`);
}

/**
 * The other stack is off limits, whatever an allow says: its tagged resources, its SSM parameters,
 * its database and (from staging) its roles and state. Denies name whole services (`ec2:*`): a deny
 * cannot widen anything, and a shorter list keeps the policy under IAM's size limit.
 */
export function otherStackDenies(s: InfraScope, stack: StackName): Statement[] {
  const them = other(stack);
  const Them = them === "prod" ? "Prod" : "Staging";
  const statements: Statement[] = [
    {
      Sid: `Deny${Them}Tagged`,
      Effect: "Deny",
      Action: deniedServices(),
      Resource: ["*"],
      // A negated operator holds when the key is absent: every prod resource without the tag is denied.
      Condition: { StringEquals: { "aws:ResourceTag/friday:stack": them }, ...(stack === "staging" ? { StringNotEquals: { [`aws:ResourceTag/${STAGING_STEPS_TAG.key}`]: STAGING_STEPS_TAG.value } } : {}) },
    },
    {
      Sid: `Deny${Them}Parameters`,
      Effect: "Deny",
      // Reads too: parameters written at run time (the refresh lock) carry no stack tag, and neither
      // stack's program reads the other's parameters (prod reads staging through its state).
      Action: ["ssm:GetParameter", "ssm:GetParameters", "ssm:ListTagsForResource", "ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"],
      Resource: [arnIn(s, "ssm", `parameter${parameterPrefix(them)}/*`)],
    },
    { Sid: `Deny${Them}Database`, Effect: "Deny", Action: ["rds:*"], Resource: [arnIn(s, "rds", `db:${stackResourcePrefix(them)}*`)] },
    databaseSecretsDeny(s, them),
  ];
  if (stack === "staging") {
    statements.push({
      Sid: "DenyStagingStepsResourceWrites",
      Effect: "Deny",
      // The writes the role holds on regional resources (its S3 writes are limited to friday-staging-* by name).
      Action: infraWriteActions().filter((a) => /^(kms|logs):/.test(a)),
      Resource: ["*"],
      Condition: { StringEquals: { [`aws:ResourceTag/${STAGING_STEPS_TAG.key}`]: STAGING_STEPS_TAG.value } },
    });
    // Prod's stack also holds the pipeline's roles for staging's steps ("friday-staging-deploy-role-…"),
    // so only staging is denied a prefix of roles: prod's.
    statements.push({ Sid: "DenyProdRoles", Effect: "Deny", Action: ["iam:*"], Resource: [`arn:${s.partition}:iam::${s.account}:role/${stackResourcePrefix("prod")}*`] });
  }
  const theirState = stateObjectArns(s, them);
  if (theirState.length) {
    // Prod's program reads staging's outputs (a StackReference), so prod may read staging's state; nobody writes the other's.
    const actions = stack === "staging" ? ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"] : ["s3:PutObject", "s3:DeleteObject"];
    statements.push({ Sid: `Deny${Them}State`, Effect: "Deny", Action: actions, Resource: theirState });
  }
  return statements;
}

/**
 * RDS creates its instances' master secrets without the stack's default tags: they are a stack's by
 * owner (found by test/iam-simulation.test.ts). Denies every secrets action on `stack`'s.
 */
export function databaseSecretsDeny(s: InfraScope, stack: StackName): Statement {
  return {
    Sid: `Deny${stack === "prod" ? "Prod" : "Staging"}DatabaseSecrets`,
    Effect: "Deny",
    Action: ["secretsmanager:*"],
    Resource: ["*"],
    Condition: { StringLike: { "aws:ResourceTag/aws:rds:primaryDBInstanceArn": arnIn(s, "rds", `db:${stackResourcePrefix(stack)}*`) } },
  };
}

/** The preview role of one stack, as managed policies: reads, state reads and its lock. It cannot change a thing. */
export function infraPreviewPolicies(s: InfraScope, stack: StackName): PolicyDocument[] {
  return [document(infraReadStatements(s)), document([...stateReadStatements(s, stack, { takesLock: true }), ...otherStackDenies(s, stack)])];
}

/** The `pulumi up` role of one stack, as managed policies (each under IAM's 6,144-character limit). */
export function infraDeployPolicies(s: InfraScope, stack: StackName): PolicyDocument[] {
  const [first, second] = infraWriteStatements(s, stack);
  return [
    document(infraReadStatements(s)),
    document([...stateReadStatements(s, stack, { takesLock: true }), ...stateWriteStatements(s, stack), ...otherStackDenies(s, stack)]),
    document(first),
    document([...second, ...boundaryGuardDenies(s)]),
  ];
}

/** IAM's limit on a managed policy, counted without white space. */
export const MANAGED_POLICY_MAX_CHARS = 6144;

function document(statements: Statement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}
