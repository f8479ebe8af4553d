import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PARITY } from "../infra/parity";

export interface AlarmThresholds {
  /** ALB 5xx responses (ELB + targets) as a percentage of requests. */
  readonly http5xxRatePercent: number;
  /** p99 target response time (milliseconds). */
  readonly p99LatencyMs: number;
  /** Unhealthy targets in either target group. */
  readonly unhealthyTargets: number;
  /** Database CPU utilisation (percent). */
  readonly dbCpuPercent: number;
  /** Database free storage (GiB) below which the alarm fires. */
  readonly dbFreeStorageGb: number;
  /** Consecutive one-minute periods in breach before ALARM. */
  readonly evaluationPeriods: number;
}

export interface AlarmsArgs {
  /** Prefix of every alarm name, e.g. "friday-prod" → "friday-prod-alb-5xx-rate". */
  readonly namePrefix: string;
  /** ARN suffix of the ALB (CloudWatch's LoadBalancer dimension). */
  readonly loadBalancerArnSuffix: pulumi.Input<string>;
  /** ARN suffixes of the blue and green target groups. */
  readonly targetGroupArnSuffixes: pulumi.Input<string>[];
  /** The database instance identifier. */
  readonly dbInstanceIdentifier: pulumi.Input<string>;
  readonly thresholds: AlarmThresholds;
  /** E-mail subscribed to the notifications topic (confirmed once by the recipient). */
  readonly notificationEmail?: string;
  /** Tags for every resource. */
  readonly tags?: Record<string, string>;
}

/**
 * The alarm set (parity-locked: PARITY.alarmSet), one key per alarm; blue/green deploys, flag
 * deployments and the pipeline roll back on all of them.
 */
export const ROLLBACK_ALARM_KEYS = PARITY.alarmSet;
export type RollbackAlarmKey = (typeof ROLLBACK_ALARM_KEYS)[number];

export function alarmName(namePrefix: string, key: RollbackAlarmKey): string {
  return `${namePrefix}-${key}`;
}

export function validateAlarmsArgs(name: string, args: AlarmsArgs): void {
  const t = args.thresholds;
  if (!(t.http5xxRatePercent > 0 && t.http5xxRatePercent <= 100)) {
    throw new Error(`Alarms "${name}": thresholds.http5xxRatePercent must be in (0, 100] (got ${t.http5xxRatePercent}).`);
  }
  if (!(t.dbCpuPercent > 0 && t.dbCpuPercent <= 100)) {
    throw new Error(`Alarms "${name}": thresholds.dbCpuPercent must be in (0, 100] (got ${t.dbCpuPercent}).`);
  }
  if (args.targetGroupArnSuffixes.length !== 2) {
    throw new Error(`Alarms "${name}": targetGroupArnSuffixes needs the blue and the green target group (got ${args.targetGroupArnSuffixes.length}).`);
  }
}

/**
 * The rollback alarms (ALB 5xx rate and p99 latency, unhealthy targets, DB CPU and free storage) and
 * the SNS topic they, the pipeline and the staging refresh notify.
 */
export class Alarms extends pulumi.ComponentResource {
  public readonly topic: aws.sns.Topic;
  /** The topic's own KMS key: CloudWatch and EventBridge cannot publish to a topic under the AWS-managed SNS key. */
  public readonly topicKey: aws.kms.Key;
  /** The rollback alarms, in ROLLBACK_ALARM_KEYS order. */
  public readonly alarms: aws.cloudwatch.MetricAlarm[];
  public readonly alarmNames: string[];
  public readonly alarmArns: pulumi.Output<string>[];

  constructor(name: string, args: AlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("friday:observability:Alarms", name, {}, opts);
    validateAlarmsArgs(name, args);
    const tags = args.tags ?? {};
    const t = args.thresholds;
    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    this.topicKey = this.createTopicKey(name, account, tags);
    this.topic = new aws.sns.Topic(`${name}-topic`, {
      name: `${args.namePrefix}-notifications`,
      kmsMasterKeyId: this.topicKey.arn,
      tags,
    }, { parent: this });
    // CloudWatch alarms publish to the topic; nothing else outside the account may.
    new aws.sns.TopicPolicy(`${name}-topic-policy`, {
      arn: this.topic.arn,
      policy: pulumi.all([this.topic.arn, account]).apply(([arn, account]) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Sid: "AccountPublish", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes"], Resource: arn },
          { Sid: "AlarmsPublish", Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: "sns:Publish", Resource: arn, Condition: { StringEquals: { "aws:SourceAccount": account } } },
          { Sid: "EventsPublish", Effect: "Allow", Principal: { Service: ["events.amazonaws.com", "codestar-notifications.amazonaws.com"] }, Action: "sns:Publish", Resource: arn, Condition: { StringEquals: { "aws:SourceAccount": account } } },
        ],
      })),
    }, { parent: this });
    if (args.notificationEmail) {
      new aws.sns.TopicSubscription(`${name}-email`, { topic: this.topic.arn, protocol: "email", endpoint: args.notificationEmail }, { parent: this });
    }

    const common = {
      evaluationPeriods: t.evaluationPeriods,
      datapointsToAlarm: t.evaluationPeriods,
      // No traffic is not an outage; it must not roll a deploy back.
      treatMissingData: "notBreaching",
      alarmActions: [this.topic.arn],
      okActions: [this.topic.arn],
      tags,
    };
    const lb = { LoadBalancer: args.loadBalancerArnSuffix };
    const minuteMetric = (id: string, metricName: string, stat: string, dimensions: Record<string, pulumi.Input<string>>, namespace = "AWS/ApplicationELB") => ({
      id, returnData: false, metric: { namespace, metricName, stat, period: 60, dimensions },
    });

    const make = (key: RollbackAlarmKey, description: string, spec: Partial<aws.cloudwatch.MetricAlarmArgs>) =>
      new aws.cloudwatch.MetricAlarm(`${name}-${key}`, { name: alarmName(args.namePrefix, key), alarmDescription: description, ...common, ...spec } as aws.cloudwatch.MetricAlarmArgs, { parent: this });

    this.alarms = [
      make("alb-5xx-rate", `5xx responses above ${t.http5xxRatePercent}% of requests`, {
        comparisonOperator: "GreaterThanThreshold",
        threshold: t.http5xxRatePercent,
        metricQueries: [
          minuteMetric("elb5xx", "HTTPCode_ELB_5XX_Count", "Sum", lb),
          minuteMetric("target5xx", "HTTPCode_Target_5XX_Count", "Sum", lb),
          minuteMetric("requests", "RequestCount", "Sum", lb),
          { id: "rate", label: "5xx rate (%)", returnData: true, expression: "IF(requests > 0, 100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests, 0)" },
        ],
      }),
      make("alb-p99-latency", `p99 target response time above ${t.p99LatencyMs} ms`, {
        comparisonOperator: "GreaterThanThreshold",
        threshold: t.p99LatencyMs / 1000,
        namespace: "AWS/ApplicationELB",
        metricName: "TargetResponseTime",
        extendedStatistic: "p99",
        period: 60,
        dimensions: lb,
      }),
      make("unhealthy-targets", `at least ${t.unhealthyTargets} unhealthy target(s) in blue or green`, {
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: t.unhealthyTargets,
        metricQueries: [
          ...args.targetGroupArnSuffixes.map((suffix, i) =>
            minuteMetric(`tg${i}`, "UnHealthyHostCount", "Maximum", { LoadBalancer: args.loadBalancerArnSuffix, TargetGroup: suffix })),
          { id: "unhealthy", label: "unhealthy targets", returnData: true, expression: "MAX([FILL(tg0, 0), FILL(tg1, 0)])" },
        ],
      }),
      make("db-cpu", `database CPU above ${t.dbCpuPercent}%`, {
        comparisonOperator: "GreaterThanThreshold",
        threshold: t.dbCpuPercent,
        namespace: "AWS/RDS",
        metricName: "CPUUtilization",
        statistic: "Average",
        period: 60,
        dimensions: { DBInstanceIdentifier: args.dbInstanceIdentifier },
      }),
      make("db-free-storage", `database free storage below ${t.dbFreeStorageGb} GiB`, {
        comparisonOperator: "LessThanThreshold",
        threshold: t.dbFreeStorageGb * 1024 ** 3,
        namespace: "AWS/RDS",
        metricName: "FreeStorageSpace",
        statistic: "Minimum",
        period: 60,
        dimensions: { DBInstanceIdentifier: args.dbInstanceIdentifier },
      }),
    ];
    this.alarmNames = ROLLBACK_ALARM_KEYS.map((key) => alarmName(args.namePrefix, key));
    this.alarmArns = this.alarms.map((a) => a.arn);
    this.registerOutputs({ topicArn: this.topic.arn, alarmNames: this.alarmNames });
  }

  private createTopicKey(name: string, account: pulumi.Output<string>, tags: Record<string, string>): aws.kms.Key {
    return new aws.kms.Key(`${name}-topic-key`, {
      description: `${name}: encrypts the notifications topic`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: account.apply((accountId) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            // The account administers the key through IAM (without this, nobody could).
            Sid: "AccountAdministers",
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${accountId}:root` },
            Action: [
              "kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation",
              "kms:ListResourceTags", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription", "kms:ScheduleKeyDeletion",
              "kms:CancelKeyDeletion", "kms:EnableKey", "kms:DisableKey", "kms:ListGrants", "kms:CreateGrant", "kms:RevokeGrant",
              "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey",
            ],
            Resource: "*",
          },
          {
            // Alarms, EventBridge rules (pipeline events) and notification rules publish to the topic.
            Sid: "ServicesPublish",
            Effect: "Allow",
            Principal: { Service: ["cloudwatch.amazonaws.com", "events.amazonaws.com", "codestar-notifications.amazonaws.com"] },
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
            Resource: "*",
          },
        ],
      })),
      tags,
    }, { parent: this });
  }
}
