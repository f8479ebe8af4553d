import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURE_RULES_YAML } from "./scrub-fixture";
import { loadScrubRules, parseScrubRules, ScrubRulesError } from "./scrub-rules";

function problemsOf(text: string): readonly string[] {
  try {
    parseScrubRules(text, "rules.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(ScrubRulesError);
    return (error as ScrubRulesError).problems;
  }
  throw new Error("expected the rules to be rejected");
}

describe("parseScrubRules", () => {
  it("expands shorthands, qualifies table names, fills defaults and digests the normalized rules", () => {
    const rules = parseScrubRules(FIXTURE_RULES_YAML, "fixture.yaml");
    expect(rules.emailDomain).toBe("scrubbed.invalid");
    expect(rules.tables["public.sessions"]).toEqual({ truncate: true });
    expect(rules.tables["public.users"]).toMatchObject({
      columns: {
        id: { strategy: "keep" },
        email: { strategy: "email" },
        full_name: { strategy: "name", part: "full" },
        date_of_birth: { strategy: "shift", maxDays: 365 },
        signup_ip: { strategy: "null" },
        password_hash: { strategy: "fixed", value: "!" },
      },
    });
    expect(rules.tables["public.payments"]).toMatchObject({ columns: { provider_reference: { strategy: "hash", length: 32 } } });
    expect(rules.tables["public.audit_log"]).toMatchObject({
      columns: { payload: { strategy: "json", paths: { "actor.email": { strategy: "email" }, "actor.ip": { strategy: "null" } } } },
    });
    expect(rules.digest).toMatch(/^[0-9a-f]{64}$/);
    // Same meaning, different spelling → same digest; different meaning → different digest.
    const respelled = FIXTURE_RULES_YAML.replace("    email: email\n    full_name: name", "    full_name: { strategy: name }\n    email: { strategy: email }");
    expect(parseScrubRules(respelled, "x").digest).toBe(rules.digest);
    expect(parseScrubRules(FIXTURE_RULES_YAML.replace("maxDays: 365", "maxDays: 364"), "x").digest).not.toBe(rules.digest);
  });

  it("reports every bad rule at once, each naming the table, the column and the fix", () => {
    const problems = problemsOf(`
version: 1
tables:
  users:
    id: keap
    email: { strategy: email, domain: "Not A Domain" }
    token: fixed
    secret: { strategy: fixed }
    payload: { strategy: json, paths: { actor.email: emial } }
    nickname:
    born: { strategy: shift, by: nope }
    ref: { strategy: hash, length: 5, salt: 1 }
    expr: { strategy: sql, expression: "1; DROP TABLE users" }
  app.events: {}
`);
    expect(problems).toEqual([
      "public.users.id: unknown strategy \"keap\": use one of keep, null, fixed, email, name, phone, address, text, hash, shift, json, sql",
      "public.users.email: email: domain: domain must be a lower-case DNS name such as scrubbed.invalid",
      'public.users.token: fixed needs a value: write { strategy: fixed, value: "..." }',
      "public.users.secret: fixed: value: value must be a string, number or boolean",
      'public.users.payload: json: paths.actor.email: use one of null, fixed, email, name, phone, address, text, hash (write null as "null")',
      'public.users.nickname: no strategy given (YAML null): write keep, or "null" in quotes to null the column',
      "public.users.ref: hash: length: Too small: expected number to be >=16; Unrecognized key: \"salt\"",
      "public.users.expr: sql: expression: expression must be one SQL expression without ';'",
      'public.users.born: shift by "nope" names no column of public.users: use one of id, email, token, secret, payload, nickname, born, ref, expr',
      'table app.events lists no columns: classify each column, or write "app.events: truncate"',
    ]);
  });

  it("rejects a bad file shape, wildcard JSON paths and YAML errors with the fix", () => {
    expect(problemsOf("version: 2\ntables: {}\n")).toEqual(["version: version must be 1"]);
    expect(problemsOf("version: 1\nfoo: 1\ntables:\n  users: drop\n")).toEqual([
      'table public.users: write "truncate" or a map of column: strategy',
      "unknown top-level key(s) foo: allowed are version, emailDomain, tables",
    ]);
    expect(problemsOf("version: 1\ntables:\n  t:\n    doc: { strategy: json, paths: { items.*.email: email } }\n")).toEqual([
      "public.t.doc: json: paths.items.*.email: a path is dot-separated keys or array indexes, e.g. actor.email or items.0.name (no wildcards or spaces)",
    ]);
    expect(problemsOf("version: 1\ntables:\n  t:\n    a: keep\n    a: email\n")[0]).toMatch(/^YAML: Map keys must be unique/);
  });

  it("loadScrubRules reads a file, and names the file and the flag when it cannot", () => {
    const dir = mkdtempSync(join(tmpdir(), "rules-"));
    const path = join(dir, "scrub-rules.yaml");
    writeFileSync(path, FIXTURE_RULES_YAML);
    try {
      expect(loadScrubRules(path).source).toBe(path);
      expect(() => loadScrubRules(join(dir, "missing.yaml"))).toThrow(/scrub rules .*missing\.yaml are invalid \(1 problem\):\n {2}- cannot read the rules file \(ENOENT\): pass --rules <path to scrub-rules\.yaml>/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
