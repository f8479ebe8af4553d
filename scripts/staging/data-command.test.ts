import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { buildCli } from "../cli";
import { createTestDatabase, TestDatabase } from "../../test/support/postgres";
import { FIXTURE_RULES_YAML, FIXTURE_SCHEMA_SQL, fillFixture } from "./scrub-fixture";
import { readScrubKey } from "./scrub-key";

const KEY = "cli-test-scrub-key-0123456789-abcdefghijkl";
const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:friday/staging/scrub-key-AbCdEf";
const secrets = mockClient(SecretsManagerClient);

let db: TestDatabase;
let client: Client;
let rulesPath: string;
let rulesDir: string | undefined;
let stdout: string[];
let stderr: string[];

async function run(...args: string[]): Promise<void> {
  await buildCli().parseAsync(["node", "friday", ...args]);
}

async function emails(): Promise<string[]> {
  return (await client.query(`SELECT email FROM users ORDER BY id`)).rows.map((r) => r.email);
}

beforeAll(async () => {
  db = await createTestDatabase("scrub_cli");
  client = new Client({ connectionString: db.url });
  await client.connect();
  await client.query(FIXTURE_SCHEMA_SQL);
  await fillFixture(client, 12);
  rulesDir = mkdtempSync(join(tmpdir(), "scrub-cli-"));
  rulesPath = join(rulesDir, "scrub-rules.yaml");
  writeFileSync(rulesPath, FIXTURE_RULES_YAML);
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
  if (rulesDir) rmSync(rulesDir, { recursive: true, force: true });
});
beforeEach(() => {
  secrets.reset();
  stdout = [];
  stderr = [];
  jest.spyOn(process.stdout, "write").mockImplementation((chunk) => (stdout.push(String(chunk)), true));
  jest.spyOn(process.stderr, "write").mockImplementation((chunk) => (stderr.push(String(chunk)), true));
});
afterEach(() => jest.restoreAllMocks());

describe("friday staging scrub | verify | rules", () => {
  it("registers scrub, verify and rules under the one staging command", () => {
    const program = buildCli();
    const staging = program.commands.filter((c) => c.name() === "staging");
    expect(staging).toHaveLength(1);
    expect(staging[0].commands.map((c) => c.name())).toEqual(expect.arrayContaining(["scrub", "verify", "rules"]));
  });

  it("refuses bad input before touching the database", async () => {
    const before = await emails();
    await expect(run("staging", "scrub", "--database-url", db.url, "--rules", rulesPath, "--yes")).rejects.toThrow(
      "give the HMAC key with exactly one of --key-secret-arn <arn> (Secrets Manager) or --key-env <VAR> (local); never on the command line",
    );
    await expect(run("staging", "scrub", "--database-url", db.url, "--rules", rulesPath, "--key-env", "NOPE_NOT_SET", "--yes")).rejects.toThrow(
      /--key-env NOPE_NOT_SET: the variable is not set or empty/,
    );
    await expect(run("staging", "scrub", "--database-url", db.url, "--rules", "/nowhere/rules.yaml", "--key-env", "X", "--yes")).rejects.toThrow(/cannot read the rules file \(ENOENT\)/);
    // Without --yes and without a terminal there is nobody to confirm.
    process.env.FRIDAY_TEST_SCRUB_KEY = KEY;
    await expect(run("staging", "scrub", "--database-url", db.url, "--rules", rulesPath, "--key-env", "FRIDAY_TEST_SCRUB_KEY")).rejects.toThrow(
      /scrubbing 127\.0\.0\.1:\d+\/scrub_cli_\w+ rewrites it in place: pass --yes to confirm/,
    );
    await expect(run("staging", "verify", "--rules", rulesPath, "--database-url-env", "NOPE_NOT_SET")).rejects.toThrow(/no database given: pass --database-url <url>/);
    expect(await emails()).toEqual(before);
    expect(secrets.calls()).toHaveLength(0);
  });

  it("verify fails on the unscrubbed database", async () => {
    await expect(run("staging", "verify", "--database-url", db.url, "--rules", rulesPath)).rejects.toThrow(/^verify failed: \d+ problems$/);
    expect(stdout.join("")).toContain("FAIL masked values");
  });

  it("rules --suggest prints a starting rules file", async () => {
    await run("staging", "rules", "--suggest", "--database-url", db.url);
    expect(stdout.join("")).toMatch(/^# Scrub rules suggested(.|\n)*\n {4}email: email {2}# text; 100% of sampled values are emails\n/);
  });

  it("scrubs with the key from Secrets Manager, prints progress and the summary, verifies; the key is never printed", async () => {
    secrets.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: KEY });
    const before = await emails();
    await run("staging", "scrub", "--database-url", db.url, "--rules", rulesPath, "--key-secret-arn", ARN, "--region", "eu-west-1", "--concurrency", "3", "--yes");
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: ARN });
    const text = stdout.join("");
    expect(text).toMatch(/scrubbing 127\.0\.0\.1:\d+\/scrub_cli_\w+ with .*scrub-rules\.yaml \(3 tables at a time\)/);
    expect(text).toMatch(/public\.users: 12 rows in \d+\.\d s \([\d,]+ rows\/s\)/);
    expect(text).toMatch(/scrubbed 7 tables \(6 rewritten, 1 truncated\): 99 rows rewritten in \d+\.\d s .*; 7 indexes built as tasks of their own, 1 foreign key validated again$/m);
    expect(text).toMatch(/verify passed/);
    expect(text + stderr.join("")).not.toContain(KEY);
    const after = await emails();
    after.forEach((e, i) => {
      expect(e).not.toBe(before[i]);
      expect(e).toMatch(/^u[0-9a-f]{24}@scrubbed\.invalid$/);
    });
  });

  it("verify passes on the scrubbed database, with --json", async () => {
    await run("staging", "verify", "--database-url", db.url, "--rules", rulesPath, "--json");
    const report = JSON.parse(stdout.join(""));
    expect(report).toMatchObject({ ok: true, problems: [] });
  });

  it("a second scrub with --json reports every table as already done", async () => {
    process.env.FRIDAY_TEST_SCRUB_KEY = KEY;
    await run("staging", "scrub", "--database-url", db.url, "--rules", rulesPath, "--key-env", "FRIDAY_TEST_SCRUB_KEY", "--json", "--yes");
    const result = JSON.parse(stdout.join(""));
    expect(result.scrub.tables.map((t: { action: string }) => t.action)).toEqual(Array(7).fill("already done"));
    expect(result.verify.ok).toBe(true);
    expect(stderr.join("")).toContain("public.users: already scrubbed by an earlier run");
  });
});

describe("readScrubKey", () => {
  it("reads a plain string, a JSON {key}, or binary, and names the fix when empty", async () => {
    const sm = new SecretsManagerClient({ region: "eu-west-1" });
    secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: KEY }).resolvesOnce({ SecretString: JSON.stringify({ key: KEY }) }).resolvesOnce({ SecretBinary: Buffer.from(KEY) }).resolvesOnce({});
    expect((await readScrubKey(sm, ARN)).toString()).toBe(KEY);
    expect((await readScrubKey(sm, ARN)).toString()).toBe(KEY);
    expect((await readScrubKey(sm, ARN)).toString()).toBe(KEY);
    await expect(readScrubKey(sm, ARN)).rejects.toThrow(`secret ${ARN} has no value: put one with`);
  });
});
