import { FAKE_ACCOUNT, runOffline, type OfflineRun, type RecordedResource } from "../scripts/lib/offline-program";
import { allowed, list, type PolicyDocument, type Statement } from "../test/support/iam";

/**
 * Every publisher to an SNS topic encrypted with a customer-managed key must be able to use that key,
 * or its messages are dropped (docs/aws-notes.md, "SNS topics encrypted with a customer-managed key"):
 * - an IAM principal (a role's policy with sns:Publish, the pipeline's role for the approval request)
 *   needs kms:GenerateDataKey and kms:Decrypt on the key, and the key policy must let IAM grant them;
 * - CloudWatch alarms, EventBridge rules and CodeStar notification rules publish as service principals,
 *   which the key policy itself must allow (for EventBridge without aws:SourceAccount/aws:SourceArn
 *   conditions: its KMS requests carry neither) and the topic policy must let publish.
 */

let runs: OfflineRun[];
beforeAll(async () => {
  const staging = await runOffline("staging");
  const prod = await runOffline("prod", { stagingOutputs: staging.outputs });
  runs = [staging, prod];
  // Both stacks offline take seconds alone and can pass a minute on a loaded 2-core machine.
}, 180_000);

const KMS_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"];
const ACCOUNT_ROOT = `arn:aws:iam::${FAKE_ACCOUNT}:root`;

type Publisher = { kind: "iam" | "events" | "cloudwatch" | "codestar-notifications"; name: string; policy?: PolicyDocument };
const SERVICE_PRINCIPAL = { events: "events.amazonaws.com", cloudwatch: "cloudwatch.amazonaws.com", "codestar-notifications": "codestar-notifications.amazonaws.com" } as const;
/** Resource types that may name the topic without publishing to it (or whose publishing is checked through their role). */
const NOT_PUBLISHERS = new Set(["aws:sns/topic:Topic", "aws:sns/topicPolicy:TopicPolicy", "aws:sns/topicSubscription:TopicSubscription", "aws:ssm/parameter:Parameter", "aws:ecs/taskDefinition:TaskDefinition"]);

const ofType = (run: OfflineRun, type: string) => run.resources.filter((r) => r.type === type);
const mentions = (r: RecordedResource, value: string) => JSON.stringify(r.inputs).includes(value);

/** The inline policies of the role whose ARN is given (RolePolicy.role is the role's id, `<name>-id` under the mocks). */
function rolePolicy(run: OfflineRun, roleArn: string): PolicyDocument {
  const role = ofType(run, "aws:iam/role:Role").find((r) => r.state.arn === roleArn);
  expect(role).toBeDefined();
  const statements = ofType(run, "aws:iam/rolePolicy:RolePolicy")
    .filter((p) => p.inputs.role === `${role!.name}-id`)
    .flatMap((p) => (JSON.parse(p.inputs.policy) as PolicyDocument).Statement);
  return { Statement: statements };
}

/** Everything in `run` that publishes to `topicArn`, found by kind. */
function publishersOf(run: OfflineRun, topicArn: string): Publisher[] {
  const found: Publisher[] = [];
  for (const r of [...ofType(run, "aws:iam/rolePolicy:RolePolicy"), ...ofType(run, "aws:iam/policy:Policy")]) {
    const policy = JSON.parse(r.inputs.policy) as PolicyDocument;
    if (allowed(policy, "sns:Publish", topicArn)) found.push({ kind: "iam", name: r.name, policy });
  }
  for (const pipeline of ofType(run, "aws:codepipeline/pipeline:Pipeline")) {
    const actions = (pipeline.inputs.stages as Array<{ actions: Array<{ configuration?: Record<string, string> }> }>).flatMap((s) => s.actions);
    if (actions.some((a) => a.configuration?.NotificationArn === topicArn)) {
      found.push({ kind: "iam", name: `${pipeline.name} (approval, as ${pipeline.inputs.roleArn})`, policy: rolePolicy(run, pipeline.inputs.roleArn) });
    }
  }
  for (const target of ofType(run, "aws:cloudwatch/eventTarget:EventTarget")) {
    if (target.inputs.arn === topicArn) found.push({ kind: "events", name: target.name });
  }
  for (const alarm of ofType(run, "aws:cloudwatch/metricAlarm:MetricAlarm")) {
    const actions = [...list(alarm.inputs.alarmActions), ...list(alarm.inputs.okActions), ...list(alarm.inputs.insufficientDataActions)];
    if (actions.includes(topicArn)) found.push({ kind: "cloudwatch", name: alarm.name });
  }
  for (const rule of ofType(run, "aws:codestarnotifications/notificationRule:NotificationRule")) {
    if (list(rule.inputs.targets as Array<{ address: string }>).some((t) => t.address === topicArn)) found.push({ kind: "codestar-notifications", name: rule.name });
  }
  return found;
}

/** Key-policy statements that allow `action` to the service principal (with their conditions). */
function serviceGrants(keyPolicy: PolicyDocument, service: string, action: string): Statement[] {
  return keyPolicy.Statement.filter((s) => s.Effect === "Allow" && list((s.Principal as { Service?: string | string[] })?.Service).includes(service) && allowed({ Statement: [s] }, action, "*"));
}

describe.each(["staging", "prod"])("the %s stack's encrypted topics", (stackName) => {
  const run = () => runs.find((r) => r.stack === stackName)!;
  const encryptedTopics = () => ofType(run(), "aws:sns/topic:Topic").filter((t) => t.inputs.kmsMasterKeyId);

  it("are encrypted with a customer-managed key the stack owns (the AWS-managed SNS key admits no service publishers)", () => {
    expect(encryptedTopics().length).toBeGreaterThan(0);
    for (const topic of encryptedTopics()) {
      expect(ofType(run(), "aws:kms/key:Key").map((k) => k.state.arn)).toContain(topic.inputs.kmsMasterKeyId);
    }
  });

  it("have only publishers that hold the topic's key", () => {
    for (const topic of encryptedTopics()) {
      const topicArn = topic.state.arn as string;
      const key = ofType(run(), "aws:kms/key:Key").find((k) => k.state.arn === topic.inputs.kmsMasterKeyId)!;
      const keyPolicy = JSON.parse(key.inputs.policy) as PolicyDocument;
      const topicPolicies = ofType(run(), "aws:sns/topicPolicy:TopicPolicy").filter((p) => p.inputs.arn === topicArn).map((p) => JSON.parse(p.inputs.policy) as PolicyDocument);
      const publishers = publishersOf(run(), topicArn);

      // Nothing names the topic that the search above does not understand (a new kind of publisher fails here first).
      const known = new Set([...publishers.map((p) => p.name), ...ofType(run(), "aws:codepipeline/pipeline:Pipeline").map((p) => p.name)]);
      const unexplained = run().resources.filter((r) => r.custom && !NOT_PUBLISHERS.has(r.type) && mentions(r, topicArn) && !known.has(r.name) && !publishers.some((p) => p.name === r.name));
      expect(unexplained.map((r) => `${r.type} ${r.name}`)).toEqual([]);

      for (const publisher of publishers) {
        const who = `${topic.name} ← ${publisher.kind} ${publisher.name}`;
        if (publisher.kind === "iam") {
          for (const action of ["sns:Publish"]) expect({ who, action, allowed: allowed(publisher.policy!, action, topicArn) }).toEqual({ who, action, allowed: true });
          for (const action of KMS_ACTIONS) {
            expect({ who, action, allowed: allowed(publisher.policy!, action, key.state.arn) }).toEqual({ who, action, allowed: true });
            // The key policy lets the account's IAM policies grant it (otherwise the role's grant is void).
            const byAccount = keyPolicy.Statement.some((s) => s.Effect === "Allow" && list((s.Principal as { AWS?: string | string[] })?.AWS).includes(ACCOUNT_ROOT) && allowed({ Statement: [s] }, action, "*"));
            expect({ who, action, keyPolicyLetsIamGrant: byAccount }).toEqual({ who, action, keyPolicyLetsIamGrant: true });
          }
        } else {
          const service = SERVICE_PRINCIPAL[publisher.kind];
          for (const action of KMS_ACTIONS) {
            const grants = serviceGrants(keyPolicy, service, action);
            expect({ who, action, keyPolicyAllows: grants.length > 0 }).toEqual({ who, action, keyPolicyAllows: true });
            if (publisher.kind === "events") {
              // EventBridge's KMS requests carry no source account/ARN: such a condition would drop every message.
              const conditionKeys = grants.flatMap((s) => Object.values(s.Condition ?? {}).flatMap((c) => Object.keys(c)));
              expect({ who, conditionKeys }).toEqual({ who, conditionKeys: expect.not.arrayContaining(["aws:SourceAccount", "aws:SourceArn"]) });
            }
          }
          const publishAllowed = topicPolicies.some((p) => p.Statement.some((s) => s.Effect === "Allow" && list((s.Principal as { Service?: string | string[] })?.Service).includes(service) && allowed({ Statement: [s] }, "sns:Publish", topicArn)));
          expect({ who, topicPolicyAllowsPublish: publishAllowed }).toEqual({ who, topicPolicyAllowsPublish: true });
        }
      }
    }
  });

  it("are published to by what the stack is meant to notify from (the check above is not vacuous)", () => {
    const kinds = encryptedTopics().flatMap((t) => publishersOf(run(), t.state.arn)).map((p) => `${p.kind} ${p.name}`);
    expect(kinds).toEqual(expect.arrayContaining([expect.stringMatching(/^cloudwatch .*-alb-5xx-rate$/)]));
    if (stackName === "staging") {
      // The refresh job's own role, its failure alarm and its task-stopped rule.
      expect(kinds).toEqual(expect.arrayContaining([expect.stringMatching(/^iam .*refresh-task-policy$/), expect.stringMatching(/^events .*refresh/)]));
    } else {
      // The pipeline's approval request (published by the pipeline's role) and its EventBridge notifications.
      expect(kinds).toEqual(expect.arrayContaining([expect.stringMatching(/^iam friday-pipeline \(approval/), expect.stringMatching(/^events friday-notify-failed$/)]));
    }
  });
});
