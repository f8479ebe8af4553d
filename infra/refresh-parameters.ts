import { refreshPath } from "./naming";

/**
 * The identifiers the StagingRefresh component publishes for the refresh job, as SSM parameters
 * under /friday/<stack>/staging-refresh/<name>. The component writes them, the job reads them, so a
 * run by hand needs AWS credentials only.
 */
export const REFRESH_PARAMETERS = {
  /** Security group the temporary (unscrubbed) instance lives in: reachable only from the job. */
  isolatedSecurityGroupId: "isolated-security-group-id",
  /** Secrets Manager secret holding the scrub HMAC key (the job creates its value on first run). */
  scrubKeySecretArn: "scrub-key-secret-arn",
  /** Hours the replaced staging instance is kept (as `<id>-previous`) for rollback. */
  retentionHours: "retention-hours",
  /** Tables scrubbed in parallel. */
  scrubConcurrency: "scrub-concurrency",
} as const;

export type RefreshParameterKey = keyof typeof REFRESH_PARAMETERS;

/** e.g. `/friday/staging/staging-refresh/scrub-key-secret-arn`. */
export function refreshParameterName(stack: string, key: RefreshParameterKey): string {
  return `${refreshPath(stack)}/${REFRESH_PARAMETERS[key]}`;
}

/**
 * The run lock: an SSM parameter the running refresh creates (only if absent) and deletes when it
 * ends, so a run by hand and a scheduled one never work at the same time.
 */
export function refreshLockParameterName(stack: string): string {
  return `${refreshPath(stack)}/lock`;
}

/**
 * Tags the refresh job puts on what it makes; its IAM policy keys on them (a restore or snapshot
 * must carry the role tag of what it is allowed to make, a snapshot of the isolated copy needs the
 * scrub tag "verified").
 */
export const REFRESH_ROLE_TAG = "friday:refresh-role";
export const REFRESH_SCRUB_TAG = "friday:refresh-scrub";
