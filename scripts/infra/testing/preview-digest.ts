import type { PreviewDigest } from "../preview-summary";

/**
 * `pulumi preview --json` output for the prod stack, shaped like Pulumi's PreviewDigest
 * (sdk/go/common/display: steps{op, urn, diffReasons, replaceReasons}, diagnostics{urn, message,
 * severity}, changeSummary): an alarm threshold change, a new parameter, a replaced database.
 */
const urn = (chain: string, name: string) => `urn:pulumi:prod::friday::${chain}::${name}`;

export const PREVIEW_WITH_CHANGES: PreviewDigest = {
  steps: [
    { op: "same", urn: urn("pulumi:pulumi:Stack", "friday-prod") },
    { op: "update", urn: urn("friday:observability:Alarms$aws:cloudwatch/metricAlarm:MetricAlarm", "friday-prod-alarms-alb-p99-latency"), diffReasons: ["threshold"] },
    { op: "create", urn: urn("friday:ops:StackParameters$aws:ssm/parameter:Parameter", "friday-prod-params-infra-release") },
    { op: "create-replacement", urn: urn("friday:data:Database$aws:rds/instance:Instance", "friday-prod-db-instance"), replaceReasons: ["dbName"] },
    { op: "replace", urn: urn("friday:data:Database$aws:rds/instance:Instance", "friday-prod-db-instance"), replaceReasons: ["dbName"] },
    { op: "delete-replaced", urn: urn("friday:data:Database$aws:rds/instance:Instance", "friday-prod-db-instance") },
  ],
  diagnostics: [{ urn: urn("friday:service:LoadBalancer$aws:lb/loadBalancer:LoadBalancer", "friday-prod-lb"), severity: "warning", message: "no https.certificateArn\n" }],
  changeSummary: { same: 140, update: 1, create: 1, replace: 1 },
  duration: 2_100_000_000,
};

export const PREVIEW_FAILED: PreviewDigest = {
  steps: [],
  diagnostics: [
    {
      urn: urn("friday:data:Database$aws:rds/instance:Instance", "friday-prod-db-instance"),
      severity: "error",
      message: "\u001b[31maws:rds/instance:Instance resource 'friday-prod-db-instance' has a problem: expected instance_class to match db.*\u001b[0m\n",
    },
    { urn: urn("pulumi:pulumi:Stack", "friday-prod"), severity: "error", message: "preview failed\n" },
  ],
  changeSummary: {},
};
