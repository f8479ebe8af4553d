import { existsSync, readFileSync } from "node:fs";
import { Command } from "commander";
import { DBInstanceNotFoundFault, DescribeDBInstancesCommand, RDSClient } from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";
import { PulumiStateCli, pulumiCli, RDS_INSTANCE_TYPE, registerAdoptDatabase } from "./adopt-database";

const rds = mockClient(RDSClient);
const DB_URN = "urn:pulumi:staging::friday::friday:environment$friday:components:Database$aws:rds/instance:Instance::staging-database-instance";

/** The shape `pulumi stack export` prints (version 3), cut down to what matters here. */
function exportedState(overrides: { id?: string; pendingOperations?: unknown[]; extraInstance?: boolean } = {}) {
  const resources: object[] = [
    { urn: "urn:pulumi:staging::friday::pulumi:pulumi:Stack::friday-staging", custom: false, type: "pulumi:pulumi:Stack", outputs: { dbInstanceIdentifier: "friday-staging-db" } },
    {
      urn: DB_URN,
      custom: true,
      id: overrides.id ?? "db-OLDOLDOLD",
      type: RDS_INSTANCE_TYPE,
      inputs: { identifier: "friday-staging-db", engineVersion: "17.6" },
      outputs: { identifier: "friday-staging-db", resourceId: overrides.id ?? "db-OLDOLDOLD", endpoint: "friday-staging-db.abc.us-east-1.rds.amazonaws.com:5432" },
      dependencies: [],
    },
    { urn: "urn:pulumi:staging::friday::aws:ssm/parameter:Parameter::db-identifier", custom: true, id: "/friday/staging/db-instance-identifier", type: "aws:ssm/parameter:Parameter", dependencies: [DB_URN] },
  ];
  if (overrides.extraInstance) resources.push({ urn: `${DB_URN}-2`, custom: true, id: "db-X", type: RDS_INSTANCE_TYPE, inputs: { identifier: "other" } });
  return { version: 3, deployment: { manifest: { time: "2026-11-20T00:00:00Z" }, resources, ...(overrides.pendingOperations ? { pending_operations: overrides.pendingOperations } : {}) } };
}

function fakeCli(state: object) {
  const imported: string[] = [];
  const cli: PulumiStateCli = { exportState: async () => JSON.stringify(state), importState: async (_stack, json) => void imported.push(json) };
  return { cli, imported };
}

async function run(args: string[], cli: PulumiStateCli): Promise<string> {
  let out = "";
  const program = new Command("friday").exitOverride();
  registerAdoptDatabase(program, { cli, rds: () => new RDSClient({ region: "us-east-1" }), stdout: (t) => (out += t) });
  await program.parseAsync(["node", "friday", "staging", "adopt-database", ...args]);
  return out;
}

beforeEach(() => {
  rds.reset();
  rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: "friday-staging-db" }).resolves({ DBInstances: [{ DBInstanceIdentifier: "friday-staging-db", DbiResourceId: "db-NEWNEWNEW", DBInstanceStatus: "available" }] });
});

describe("friday staging adopt-database", () => {
  it("points the database resource at the instance that holds staging's identifier, leaving every other resource as it was", async () => {
    const state = exportedState();
    const { cli, imported } = fakeCli(state);
    const out = await run(["--stack", "staging"], cli);
    expect(out).toContain(`staging: the state points ${DB_URN} at the live "friday-staging-db" (db-NEWNEWNEW, was db-OLDOLDOLD)`);
    expect(out).toContain(`next: pulumi refresh -s staging --target '${DB_URN}' --yes`);
    expect(imported).toHaveLength(1);
    const after = JSON.parse(imported[0]);
    const db = after.deployment.resources.find((r: { urn: string }) => r.urn === DB_URN);
    expect(db.id).toBe("db-NEWNEWNEW");
    expect(db.outputs.resourceId).toBe("db-NEWNEWNEW");
    expect(db.inputs).toEqual((state.deployment.resources[1] as { inputs: object }).inputs);
    // Everything else (the dependents included) is byte for byte what was exported.
    const others = (s: typeof state) => JSON.stringify(s.deployment.resources.filter((r) => (r as { urn: string }).urn !== DB_URN));
    expect(others(after)).toBe(others(state));
    expect(after.deployment.manifest).toEqual(state.deployment.manifest);
  });

  it("changes nothing when the state already tracks the live instance; --dry-run imports nothing; --json for machines", async () => {
    const current = fakeCli(exportedState({ id: "db-NEWNEWNEW" }));
    expect(await run(["--stack", "staging"], current.cli)).toBe(`staging: the state already tracks the live "friday-staging-db" (db-NEWNEWNEW); nothing to do\n`);
    expect(current.imported).toEqual([]);
    const dry = fakeCli(exportedState());
    const out = await run(["--stack", "staging", "--dry-run", "--json"], dry.cli);
    expect(JSON.parse(out)).toMatchObject({ changed: true, dryRun: true, trackedResourceId: "db-OLDOLDOLD", liveResourceId: "db-NEWNEWNEW", urn: DB_URN });
    expect(dry.imported).toEqual([]);
  });

  it("refuses, changing nothing, when the state or the instance is not in a state to adopt", async () => {
    const cases: [object | string, RegExp][] = [
      [exportedState({ pendingOperations: [{ type: "updating" }] }), /staging has 1 pending operation\(s\) from an interrupted update: resolve them first/],
      [exportedState({ extraInstance: true }), /holds 2 aws:rds\/instance:Instance resources .*: expected exactly one/],
      [{ version: 2, deployment: {} }, /not a version-3 deployment/],
      ["Error: no stack named 'staging' found", /did not print JSON/],
    ];
    for (const [state, message] of cases) {
      const imported: string[] = [];
      const cli: PulumiStateCli = { exportState: async () => (typeof state === "string" ? state : JSON.stringify(state)), importState: async (_s, j) => void imported.push(j) };
      await expect(run(["--stack", "staging"], cli)).rejects.toThrow(message);
      expect(imported).toEqual([]);
    }
    rds.reset();
    rds.on(DescribeDBInstancesCommand).rejects(new DBInstanceNotFoundFault({ message: "not found", $metadata: {} }));
    await expect(run(["--stack", "staging"], fakeCli(exportedState()).cli)).rejects.toThrow(/no RDS instance is named "friday-staging-db" .*finish it with `friday staging refresh --stack staging`/);
    rds.reset();
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DbiResourceId: "db-NEWNEWNEW", DBInstanceStatus: "renaming" }] });
    await expect(run(["--stack", "staging"], fakeCli(exportedState()).cli)).rejects.toThrow(/"friday-staging-db" is renaming: wait until it is available/);
  });
});

describe("pulumiCli", () => {
  it("runs pulumi stack export/import, imports from a private file it deletes after, and names the fix when pulumi is missing", async () => {
    const calls: { args: string[]; file?: string; existedDuring?: boolean }[] = [];
    const fake = ((cmd: string, args: string[], _opts: object, callback: (e: Error | null, out: string, err: string) => void) => {
      const file = args.includes("--file") ? args[args.indexOf("--file") + 1] : undefined;
      calls.push({ args: [cmd, ...args], file, existedDuring: file ? existsSync(file) && readFileSync(file, "utf8") === "{}" : undefined });
      callback(null, args[1] === "export" ? '{"version":3}' : "", "");
    }) as never;
    const cli = pulumiCli(fake);
    expect(await cli.exportState("staging")).toBe('{"version":3}');
    await cli.importState("staging", "{}");
    expect(calls.map((c) => c.args.slice(0, 5))).toEqual([
      ["pulumi", "stack", "export", "--stack", "staging"],
      ["pulumi", "stack", "import", "--stack", "staging"],
    ]);
    expect(calls[1].existedDuring).toBe(true);
    expect(existsSync(calls[1].file as string)).toBe(false);

    const missing = pulumiCli(((_c: string, _a: string[], _o: object, cb: (e: Error) => void) => cb(Object.assign(new Error("spawn pulumi ENOENT"), { code: "ENOENT" }))) as never);
    await expect(missing.exportState("staging")).rejects.toThrow("the Pulumi CLI is not on PATH: install it");
    const failing = pulumiCli(((_c: string, _a: string[], _o: object, cb: (e: Error, o: string, err: string) => void) => cb(new Error("exit 255"), "", "error: no stack named 'staging' found")) as never);
    await expect(failing.exportState("staging")).rejects.toThrow("pulumi stack export failed: error: no stack named 'staging' found");
  });
});
