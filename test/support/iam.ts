/**
 * A small IAM evaluator for tests: explicit deny wins, then any allow; wildcards in actions and
 * resources as IAM reads them. Conditions are not evaluated (tests assert on them directly).
 */

export type Statement = {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};
export type PolicyDocument = { Statement: Statement[] };

export const list = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

export const glob = (pattern: string, value: string): boolean =>
  new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(value);

export function matches(s: Statement, action: string, resource: string): boolean {
  if (!list(s.Action).some((a) => glob(a, action))) return false;
  if (s.NotResource) return !list(s.NotResource).some((r) => glob(r, resource));
  return list(s.Resource).some((r) => glob(r, resource));
}

export function allowed(policy: PolicyDocument, action: string, resource: string): boolean {
  if (policy.Statement.some((s) => s.Effect === "Deny" && matches(s, action, resource))) return false;
  return policy.Statement.some((s) => s.Effect === "Allow" && matches(s, action, resource));
}
