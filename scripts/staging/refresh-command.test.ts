import { Command } from "commander";
import { DBInstanceNotFoundFault, DeleteDBInstanceCommand, DescribeDBInstancesCommand, DescribeDBSnapshotsCommand, RDSClient } from "@aws-sdk/client-rds";
import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { ECSClient, ListTasksCommand } from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { buildCli } from "../cli";
import { parameterName } from "../../infra/stack-parameters";
import { refreshParameterName } from "../../infra/refresh-parameters";
import { registerStagingRefresh, stagingCommand } from "./refresh-command";
import { TAG } from "./refresh";

const rds = mockClient(RDSClient);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);
const ecs = mockClient(ECSClient);

const PARAMETERS: Record<string, string> = {
  [parameterName("staging", "dbInstanceIdentifier")]: "friday-staging-db",
  [parameterName("staging", "dbParameterGroupName")]: "friday-staging-db-postgres17",
  [parameterName("staging", "dbSubnetGroupName")]: "friday-staging-db-subnets",
  [parameterName("staging", "dbEngineVersion")]: "17.6",
  [parameterName("staging", "dbSecretArn")]: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-s",
  [parameterName("staging", "clusterName")]: "friday-staging",
  [parameterName("staging", "serviceName")]: "friday-staging-app",
  [parameterName("staging", "blueTargetGroupArn")]: "arn:blue",
  [parameterName("staging", "greenTargetGroupArn")]: "arn:green",
  [parameterName("staging", "notificationsTopicArn")]: "arn:aws:sns:us-east-1:123456789012:friday-staging-notifications",
  [parameterName("prod", "dbInstanceIdentifier")]: "friday-prod-db",
  [refreshParameterName("staging", "isolatedSecurityGroupId")]: "sg-isolated",
  [refreshParameterName("staging", "scrubKeySecretArn")]: "arn:aws:secretsmanager:us-east-1:123456789012:secret:key",
};

let instances: Record<string, object>;
let out: string;
let err: string;

beforeEach(() => {
  rds.reset();
  ssm.reset();
  sns.reset();
  out = "";
  err = "";
  process.exitCode = undefined;
  instances = {
    "friday-prod-db": { DBInstanceIdentifier: "friday-prod-db", DBInstanceStatus: "available", StorageEncrypted: true, EngineVersion: "17.6" },
    "friday-staging-db": { DBInstanceIdentifier: "friday-staging-db", DBInstanceStatus: "available", StorageEncrypted: true, EngineVersion: "17.6" },
    "friday-staging-db-previous": {
      DBInstanceIdentifier: "friday-staging-db-previous",
      DBInstanceStatus: "available",
      TagList: [{ Key: TAG.keepUntil, Value: "2020-01-01T00:00:00.000Z" }],
    },
  };
  ssm.on(GetParametersCommand).callsFake((input: { Names: string[] }) => ({ Parameters: input.Names.filter((n) => PARAMETERS[n]).map((n) => ({ Name: n, Value: PARAMETERS[n] })) }));
  rds.on(DescribeDBInstancesCommand).callsFake((input: { DBInstanceIdentifier: string }) => {
    const found = instances[input.DBInstanceIdentifier];
    if (!found) throw new DBInstanceNotFoundFault({ message: "not found", $metadata: {} });
    return { DBInstances: [found] };
  });
  rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [] });
  rds.on(DeleteDBInstanceCommand).callsFake((input: { DBInstanceIdentifier: string }) => {
    delete instances[input.DBInstanceIdentifier];
    return {};
  });
  sns.on(PublishCommand).resolves({});
  ecs.reset();
  ecs.on(ListTasksCommand).resolves({ taskArns: [] });
});
afterAll(() => {
  process.exitCode = undefined;
});

function program(): Command {
  const p = new Command("friday").exitOverride();
  registerStagingRefresh(p, {
    databaseSteps: async () => {
      throw new Error("the prune path needs no database");
    },
    sleep: async () => {},
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
  });
  return p;
}

describe("friday staging refresh (CLI)", () => {
  it("is registered in the real CLI, under the shared `staging` command", () => {
    const staging = buildCli().commands.find((c) => c.name() === "staging")!;
    const refresh = staging.commands.find((c) => c.name() === "refresh")!;
    const help = refresh.helpInformation();
    for (const flag of ["--stack <stack>", "--region <region>", "--rules <path>", "--retention-hours <hours>", "--concurrency <n>", "--fresh", "--prune", "--json"]) expect(help).toContain(flag);
  });

  it("joins a `staging` command another file registered first instead of making a second one", () => {
    const p = new Command("friday");
    p.command("staging").command("scrub");
    registerStagingRefresh(p);
    expect(p.commands.filter((c) => c.name() === "staging")).toHaveLength(1);
    expect(stagingCommand(p).commands.map((c) => c.name())).toEqual(["scrub", "refresh"]);
  });

  it("refuses --stack prod through the real entry, before any AWS call", async () => {
    const write = jest.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      await expect(buildCli().parseAsync(["node", "friday", "staging", "refresh", "--stack", "prod"])).rejects.toThrow(/--stack prod: the refresh replaces staging's database .* never writes to prod\. Run it with --stack staging\./);
      expect(write.mock.calls.map((c) => String(c[0])).join("")).toMatch(/^STAGING REFRESH FAILED: --stack prod/m);
    } finally {
      write.mockRestore();
    }
    expect(rds.calls()).toHaveLength(0);
    expect(ssm.calls()).toHaveLength(0);
  });

  it("rejects a non-numeric --retention-hours with the flag's name", async () => {
    const p = program();
    // commander writes its usage error on the subcommand's own output, set when it was registered.
    let usage = "";
    const refresh = stagingCommand(p).commands.find((c) => c.name() === "refresh")!;
    refresh.configureOutput({ writeErr: (t) => (usage += t) });
    await expect(p.parseAsync(["node", "friday", "staging", "refresh", "--stack", "staging", "--retention-hours", "soon"])).rejects.toThrow(/--retention-hours must be a number \(got "soon"\)/);
    expect(usage).toBe(`error: option '--retention-hours <hours>' argument 'soon' is invalid. --retention-hours must be a number (got "soon").\n`);
  });

  it("--prune --json prints the report as JSON on stdout and progress on stderr", async () => {
    await program().parseAsync(["node", "friday", "staging", "refresh", "--stack", "staging", "--prune", "--json"]);
    const report = JSON.parse(out);
    expect(report).toMatchObject({ ok: true, stack: "staging", runId: "prune" });
    expect(report.steps.map((s: { status: string }) => s.status)).toEqual(["skipped", "skipped", "skipped", "skipped", "skipped", "done"]);
    expect(report.steps[5].detail).toMatch(/^deleted friday-staging-db-previous \(retention ended 2020-01-01/);
    expect(err).toMatch(/\[6\/6\] clean up: done in/);
    expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, { DBInstanceIdentifier: "friday-staging-db-previous", SkipFinalSnapshot: true });
    expect(process.exitCode).toBeUndefined();
  });

  it("prints a table without --json, and exits 1 (with the SNS notice sent) when the run fails", async () => {
    rds.on(DeleteDBInstanceCommand).rejects(Object.assign(new Error("InvalidDBInstanceState: busy"), { name: "InvalidDBInstanceStateFault" }));
    await program().parseAsync(["node", "friday", "staging", "refresh", "--stack", "staging", "--prune"]);
    expect(out).toMatch(/6 clean up\s+failed/);
    expect(out).toMatch(/^FAILED in \S+ \(run prune\)$/m);
    expect(out).toMatch(/^STAGING REFRESH FAILED: step 6 \(clean up\) failed: InvalidDBInstanceState: busy$/m);
    expect(process.exitCode).toBe(1);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
  });
});
