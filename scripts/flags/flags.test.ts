import {
  AppConfigClient,
  CreateHostedConfigurationVersionCommand,
  GetDeploymentCommand,
  GetHostedConfigurationVersionCommand,
  ListDeploymentsCommand,
  StartDeploymentCommand,
  StopDeploymentCommand,
} from "@aws-sdk/client-appconfig";
import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseFlagsFile } from "../../infra/flags";
import { FlagState, LiveFlag, toAppConfigDocument } from "../../infra/flags-appconfig";
import { featureFlagsSchemaErrors } from "../../test/support/feature-flags-schema";
import { buildCli } from "../cli";
import { setFlagsCliContextForTests } from "./register";

const appconfig = mockClient(AppConfigClient);
const ssm = mockClient(SSMClient);
const NOW = new Date("2026-11-26T08:00:00Z");

const FLAGS_YAML = `
settings:
  staleAfterDays: 30
flags:
  new-greeting:
    description: The new greeting
    owner: team-web
    default: false
    expires: 2027-03-31
  recommendations:
    description: Recommendations
    owner: team-discovery
    default: true
    expires: 2026-10-01
`;
const dir = mkdtempSync(join(tmpdir(), "friday-flags-"));
const flagsPath = join(dir, "flags.yaml");
writeFileSync(flagsPath, FLAGS_YAML);
const file = parseFlagsFile(require("yaml").parse(FLAGS_YAML));

let out: string[];
let err: string[];
let prompts: string[];
let answer: boolean | undefined;

function ids(stack: string) {
  return {
    applicationId: `app-${stack}`,
    environmentId: `env-${stack}`,
    profileId: `prof-${stack}`,
    gradualStrategyId: `gradual-${stack}`,
    immediateStrategyId: `immediate-${stack}`,
  };
}

function parametersFor(stack: string) {
  const i = ids(stack);
  const values: Record<string, string> = {
    "appconfig-application-id": i.applicationId,
    "appconfig-environment-id": i.environmentId,
    "appconfig-profile-id": i.profileId,
    "appconfig-gradual-strategy-id": i.gradualStrategyId,
    "appconfig-immediate-strategy-id": i.immediateStrategyId,
  };
  return { Parameters: Object.entries(values).map(([k, v]) => ({ Name: `/friday/${stack}/${k}`, Value: v })), InvalidParameters: [] };
}

/** What is deployed: version 3 holds these states, deployment #6 made it live. */
function deployed(stack: string, live: Record<string, LiveFlag>, extra: Array<Record<string, unknown>> = [], omit: string[] = []) {
  const document = toAppConfigDocument(file, live);
  // Flags deployed earlier that flags.yaml no longer declares.
  for (const [flag, value] of Object.entries(live)) {
    if (!(flag in file.flags)) {
      document.flags[flag] = { name: flag };
      document.values[flag] = { enabled: value.state.mode === "on" };
    }
  }
  for (const flag of omit) {
    delete document.flags[flag];
    delete document.values[flag];
  }
  const i = ids(stack);
  appconfig
    .on(ListDeploymentsCommand, { ApplicationId: i.applicationId, EnvironmentId: i.environmentId })
    .resolves({
      Items: [
        ...extra,
        { DeploymentNumber: 6, ConfigurationName: "flags", ConfigurationVersion: "3", State: "COMPLETE", StartedAt: new Date("2026-11-20T10:00:00Z"), CompletedAt: new Date("2026-11-20T10:20:00Z") },
        { DeploymentNumber: 1, ConfigurationName: "flags", ConfigurationVersion: "1", State: "COMPLETE", StartedAt: new Date("2026-09-01T10:00:00Z"), CompletedAt: new Date("2026-09-01T10:00:00Z") },
      ],
    } as never);
  appconfig
    .on(GetHostedConfigurationVersionCommand, { ApplicationId: i.applicationId, ConfigurationProfileId: i.profileId, VersionNumber: 3 })
    .resolves({ Content: Buffer.from(JSON.stringify(document)), ContentType: "application/json" } as never);
}

const targeted = (users: string[], groups: string[], percent: number): FlagState => ({ mode: "targeted", users, groups, percent });

beforeEach(() => {
  appconfig.reset();
  ssm.reset();
  ssm.on(GetParametersCommand).callsFake((input: { Names: string[] }) => {
    const stack = input.Names[0].split("/")[2];
    return parametersFor(stack);
  });
  appconfig.on(CreateHostedConfigurationVersionCommand).resolves({ VersionNumber: 4 } as never);
  appconfig.on(StartDeploymentCommand).resolves({ DeploymentNumber: 7 } as never);
  appconfig
    .on(GetDeploymentCommand, { DeploymentNumber: 7 })
    .resolvesOnce({ State: "DEPLOYING", PercentageComplete: 20 } as never)
    .resolvesOnce({ State: "BAKING", PercentageComplete: 100 } as never)
    .resolves({ State: "COMPLETE", PercentageComplete: 100 } as never);
  out = [];
  err = [];
  prompts = [];
  answer = true;
  setFlagsCliContextForTests({
    clients: () => ({ appconfig: new AppConfigClient({ region: "eu-west-1" }), ssm: new SSMClient({ region: "eu-west-1" }) }),
    prompt: async (question) => {
      prompts.push(question);
      return answer;
    },
    sleep: async () => undefined,
    now: () => NOW,
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
  });
});

afterEach(() => {
  // Whatever a command sent to AppConfig is a document AWS's schema accepts.
  for (const call of appconfig.commandCalls(CreateHostedConfigurationVersionCommand)) {
    expect(featureFlagsSchemaErrors(JSON.parse(Buffer.from(call.args[0].input.Content as Uint8Array).toString("utf8")))).toEqual([]);
  }
});

afterAll(() => {
  setFlagsCliContextForTests({});
  rmSync(dir, { recursive: true, force: true });
});

function friday(...args: string[]): Promise<unknown> {
  return buildCli().parseAsync(["node", "friday", "flags", ...args, "--file", flagsPath]);
}

function deployedContent(call = 0): { values: Record<string, any>; flags: Record<string, any> } {
  const input = appconfig.commandCalls(CreateHostedConfigurationVersionCommand)[call].args[0].input;
  return JSON.parse(Buffer.from(input.Content as Uint8Array).toString("utf8"));
}

test("on: prints the change, creates a version with the flag on, deploys it gradually and follows it to the end", async () => {
  deployed("staging", { "new-greeting": { state: { mode: "off" } }, recommendations: { state: { mode: "on" } } });
  await friday("on", "new-greeting", "--stack", "staging");
  const content = deployedContent();
  expect(content.values["new-greeting"]).toEqual({ enabled: true });
  expect(content.values.recommendations).toEqual({ enabled: true });
  expect(content.flags["new-greeting"]._updatedAt).toBe(NOW.toISOString());
  expect(appconfig).toHaveReceivedCommandWith(CreateHostedConfigurationVersionCommand, { ApplicationId: "app-staging", ConfigurationProfileId: "prof-staging", ContentType: "application/json" });
  expect(appconfig).toHaveReceivedCommandWith(StartDeploymentCommand, {
    ApplicationId: "app-staging",
    EnvironmentId: "env-staging",
    ConfigurationProfileId: "prof-staging",
    ConfigurationVersion: "4",
    DeploymentStrategyId: "gradual-staging",
  });
  expect(appconfig).toHaveReceivedCommandTimes(GetDeploymentCommand, 3);
  const printed = out.join("\n");
  expect(printed).toContain("friday flags on new-greeting on staging:\n  new-greeting: off → on (everyone)\n  strategy: gradual");
  expect(printed).toContain("#7: DEPLOYING 20%");
  expect(printed).toContain("#7: BAKING 100%");
  expect(out.at(-1)).toBe("new-greeting is on (everyone) on staging (deployment #7, version 4).");
  expect(prompts).toEqual([]);
});

test("off on prod asks first; no means nothing changes; no terminal means --yes is needed", async () => {
  deployed("prod", { "new-greeting": { state: { mode: "on" } }, recommendations: { state: { mode: "on" } } });
  answer = false;
  await expect(friday("off", "new-greeting", "--stack", "prod")).rejects.toThrow("Not confirmed: nothing was changed.");
  expect(prompts[0]).toContain("new-greeting: on (everyone) → off");
  expect(prompts[0]).toContain("Deploy this to prod?");
  answer = undefined;
  await expect(friday("off", "new-greeting", "--stack", "prod")).rejects.toThrow("This changes prod and needs confirmation: run it in a terminal, or pass --yes. Nothing was changed.");
  expect(appconfig).not.toHaveReceivedCommand(CreateHostedConfigurationVersionCommand);
  await friday("off", "new-greeting", "--stack", "prod", "--yes");
  expect(deployedContent().values["new-greeting"]).toEqual({ enabled: false });
  expect(appconfig).toHaveReceivedCommandWith(StartDeploymentCommand, { DeploymentStrategyId: "gradual-prod" });
});

test("team: on for listed users and groups only, keeping a rollout percentage already set", async () => {
  deployed("staging", { "new-greeting": { state: targeted([], [], 5) }, recommendations: { state: { mode: "on" } } });
  await friday("team", "new-greeting", "--stack", "staging", "--users", "alice, bob", "--groups", "staff");
  expect(deployedContent().values["new-greeting"]._variants).toEqual([
    { name: "team", enabled: true, rule: '(or (in $userId ["alice", "bob"]) (in $group ["staff"]))' },
    { name: "rollout", enabled: true, rule: '(split by::$userId pct::5 seed::"new-greeting")' },
    { name: "default", enabled: false },
  ]);
  expect(out.join("\n")).toContain("new-greeting: 5% of users → team (2 users, 1 group) + 5% of users");
});

test("rollout: a stable split on the user id after the team; 100% is on for everyone", async () => {
  deployed("staging", { "new-greeting": { state: targeted(["alice"], [], 0) }, recommendations: { state: { mode: "on" } } });
  await friday("rollout", "new-greeting", "--percent", "5", "--stack", "staging");
  expect(deployedContent().values["new-greeting"]._variants.map((v: { name: string; rule?: string }) => [v.name, v.rule])).toEqual([
    ["team", '(in $userId ["alice"])'],
    ["rollout", '(split by::$userId pct::5 seed::"new-greeting")'],
    ["default", undefined],
  ]);
  appconfig.resetHistory();
  await friday("rollout", "new-greeting", "--percent", "100", "--stack", "staging");
  expect(deployedContent().values["new-greeting"]).toEqual({ enabled: true });
});

test("bad percentages, unknown flags and empty teams fail before any AWS call", async () => {
  for (const percent of ["150", "-1", "abc", "", "5.555", "1e1", "0x10", "100.5"]) {
    await expect(friday("rollout", "new-greeting", "--percent", percent, "--stack", "staging")).rejects.toThrow(
      `--percent must be a number from 0 to 100 with at most two decimals (got ${JSON.stringify(percent)}): e.g. --percent 5 or --percent 0.25.`,
    );
  }
  await expect(friday("on", "new-greting", "--stack", "staging")).rejects.toThrow(
    'Unknown flag "new-greting": flags.yaml declares new-greeting, recommendations. Declare it there first (description, owner, default, expires).',
  );
  await expect(friday("team", "new-greeting", "--stack", "staging")).rejects.toThrow(/^team needs --users a,b and\/or --groups x,y/);
  await expect(friday("team", "new-greeting", "--stack", "staging", "--users", 'al"ice')).rejects.toThrow('Not valid user ids or groups: "al\\"ice"');
  // AppConfig's limit is 16384 characters a rule (the schema's maxLength): ~900 such ids fit, 1000 do not.
  const crowd = Array.from({ length: 1000 }, (_, i) => `user-number-${i}`).join(",");
  await expect(friday("team", "new-greeting", "--stack", "staging", "--users", crowd)).rejects.toThrow(
    /^That team makes a 1[78]\d{3}-character rule; AppConfig takes at most 16384: list fewer users and target a group \(--groups\) instead\.$/,
  );
  await expect(friday("on", "new-greeting", "--stack", "Prod!")).rejects.toThrow('--stack must be a stack name such as staging or prod (got "Prod!").');
  expect(ssm.calls()).toHaveLength(0);
  expect(appconfig.calls()).toHaveLength(0);
});

test("a change while a flag deployment is running is refused, naming it and the way out", async () => {
  deployed("staging", { "new-greeting": { state: { mode: "off" } } }, [
    { DeploymentNumber: 7, ConfigurationName: "flags", ConfigurationVersion: "4", State: "DEPLOYING", PercentageComplete: 40, StartedAt: new Date("2026-11-26T07:55:00Z") },
  ]);
  await expect(friday("rollout", "new-greeting", "--percent", "20", "--stack", "staging")).rejects.toThrow(
    "A flag deployment is already in progress on staging (#7, DEPLOYING 40%, started 2026-11-26T07:55:00.000Z): wait for it to end (`friday flags list --stack staging`), or `friday flags kill new-greeting --stack staging` to switch a flag off now. Nothing was changed.",
  );
  expect(appconfig).not.toHaveReceivedCommand(CreateHostedConfigurationVersionCommand);
});

test("kill during a rollout: stops the running deployment, waits for its rollback, then deploys off immediately", async () => {
  const i = ids("prod");
  // First read: #7 (5% → 50%) is deploying on top of version 3 (5%). After the stop: #7 rolled back.
  appconfig
    .on(ListDeploymentsCommand)
    .resolvesOnce({
      Items: [
        { DeploymentNumber: 7, ConfigurationName: "flags", ConfigurationVersion: "4", State: "DEPLOYING", PercentageComplete: 30 },
        { DeploymentNumber: 6, ConfigurationName: "flags", ConfigurationVersion: "3", State: "COMPLETE" },
      ],
    } as never)
    .resolves({
      Items: [
        { DeploymentNumber: 7, ConfigurationName: "flags", ConfigurationVersion: "4", State: "ROLLED_BACK" },
        { DeploymentNumber: 6, ConfigurationName: "flags", ConfigurationVersion: "3", State: "COMPLETE" },
      ],
    } as never);
  appconfig
    .on(GetHostedConfigurationVersionCommand, { VersionNumber: 3 })
    .resolves({ Content: Buffer.from(JSON.stringify(toAppConfigDocument(file, { "new-greeting": { state: targeted([], [], 5) }, recommendations: { state: { mode: "on" } } }))) } as never);
  appconfig.on(StopDeploymentCommand).resolves({ State: "ROLLING_BACK" } as never);
  appconfig
    .on(GetDeploymentCommand, { DeploymentNumber: 7 })
    .resolvesOnce({ State: "ROLLING_BACK", PercentageComplete: 30 } as never)
    .resolves({ State: "ROLLED_BACK", PercentageComplete: 0 } as never);
  appconfig.on(CreateHostedConfigurationVersionCommand).resolves({ VersionNumber: 5 } as never);
  appconfig.on(StartDeploymentCommand).resolves({ DeploymentNumber: 8 } as never);
  appconfig.on(GetDeploymentCommand, { DeploymentNumber: 8 }).resolves({ State: "COMPLETE", PercentageComplete: 100 } as never);

  await friday("kill", "new-greeting", "--stack", "prod", "--yes");

  expect(appconfig).toHaveReceivedCommandWith(StopDeploymentCommand, { ApplicationId: i.applicationId, EnvironmentId: i.environmentId, DeploymentNumber: 7 });
  // Off for everyone, the 5% rollout kept (disabled) for `restore`.
  expect(deployedContent().values["new-greeting"]).toEqual({
    _variants: [
      { name: "rollout", enabled: false, rule: '(split by::$userId pct::5 seed::"new-greeting")' },
      { name: "default", enabled: false },
    ],
  });
  expect(deployedContent().values.recommendations).toEqual({ enabled: true });
  expect(appconfig).toHaveReceivedCommandWith(StartDeploymentCommand, { ConfigurationVersion: "5", DeploymentStrategyId: i.immediateStrategyId });
  // Order: stop → rollback observed → new version → deployment.
  const order = appconfig.calls().map((c) => c.args[0].constructor.name);
  expect(order.indexOf("StopDeploymentCommand")).toBeLessThan(order.indexOf("CreateHostedConfigurationVersionCommand"));
  expect(order.lastIndexOf("ListDeploymentsCommand")).toBeLessThan(order.indexOf("CreateHostedConfigurationVersionCommand"));
  const printed = out.join("\n");
  expect(printed).toContain("stops deployment #7 (DEPLOYING) first: AppConfig rolls its changes back");
  expect(printed).toContain("#7: ROLLED_BACK 0%");
  expect(printed).toContain("new-greeting: 5% of users → killed (off; was 5% of users)");
  expect(printed).toContain("note: `friday flags restore new-greeting` brings back 5% of users");
  expect(printed).toContain("strategy: immediate");
  expect(out.at(-1)).toBe("new-greeting is killed (off; was 5% of users) on prod (deployment #8, version 5).");
});

test("rollout: 0.29% is 0.29%, not refused by float arithmetic", async () => {
  deployed("staging", { "new-greeting": { state: { mode: "off" } }, recommendations: { state: { mode: "on" } } });
  await friday("rollout", "new-greeting", "--percent", "0.29", "--stack", "staging");
  expect(deployedContent().values["new-greeting"]._variants[0]).toEqual({ name: "rollout", enabled: true, rule: '(split by::$userId pct::0.29 seed::"new-greeting")' });
  expect(out.at(-1)).toBe("new-greeting is 0.29% of users on staging (deployment #7, version 4).");
});

test("kill then restore: the team and percentage come back; team/rollout after a kill build on what it kept", async () => {
  const before = targeted(["alice"], ["staff"], 5);
  deployed("staging", { "new-greeting": { state: before }, recommendations: { state: { mode: "on" } } });
  await friday("kill", "new-greeting", "--stack", "staging");
  const killed = deployedContent();
  expect(killed.values["new-greeting"]._variants.every((v: { enabled: boolean }) => v.enabled === false)).toBe(true);
  expect(appconfig).toHaveReceivedCommandWith(StartDeploymentCommand, { DeploymentStrategyId: "immediate-staging" });

  // The killed version is now live: restore deploys the state before the kill, gradually.
  appconfig.reset();
  ssm.on(GetParametersCommand).resolves(parametersFor("staging"));
  appconfig.on(ListDeploymentsCommand).resolves({ Items: [{ DeploymentNumber: 7, ConfigurationName: "flags", ConfigurationVersion: "4", State: "COMPLETE" }] } as never);
  appconfig.on(GetHostedConfigurationVersionCommand, { VersionNumber: 4 }).resolves({ Content: Buffer.from(JSON.stringify(killed)) } as never);
  appconfig.on(CreateHostedConfigurationVersionCommand).resolves({ VersionNumber: 5 } as never);
  appconfig.on(StartDeploymentCommand).resolves({ DeploymentNumber: 8 } as never);
  appconfig.on(GetDeploymentCommand).resolves({ State: "COMPLETE", PercentageComplete: 100 } as never);
  out.length = 0;
  await friday("restore", "new-greeting", "--stack", "staging");
  expect(deployedContent().values["new-greeting"]).toEqual(toAppConfigDocument(file, { "new-greeting": { state: before } }).values["new-greeting"]);
  expect(appconfig).toHaveReceivedCommandWith(StartDeploymentCommand, { DeploymentStrategyId: "gradual-staging" });
  expect(out.join("\n")).toContain("new-greeting: killed (off; was team (1 user, 1 group) + 5% of users) → team (1 user, 1 group) + 5% of users");
  expect(out.at(-1)).toBe("new-greeting is team (1 user, 1 group) + 5% of users on staging (deployment #8, version 5).");

  // From the killed version again: a rollout keeps the team the kill kept, and says it replaces the kept state.
  appconfig.resetHistory();
  out.length = 0;
  await friday("rollout", "new-greeting", "--percent", "20", "--stack", "staging");
  expect(deployedContent().values["new-greeting"]._variants.map((v: { name: string; enabled: boolean }) => [v.name, v.enabled])).toEqual([
    ["team", true],
    ["rollout", true],
    ["default", false],
  ]);
  expect(out.join("\n")).toContain("note: replaces the state the kill kept (team (1 user, 1 group) + 5% of users); `restore` would have brought that back");
});

test("restore on a flag that is not killed says there is nothing to bring back, and changes nothing", async () => {
  deployed("staging", { "new-greeting": { state: { mode: "off" } }, recommendations: { state: { mode: "on" } } });
  await expect(friday("restore", "new-greeting", "--stack", "staging")).rejects.toThrow(
    "new-greeting is off on staging, not killed: there is no earlier team or percentage to bring back (`off` forgets them, and so did a kill made before friday kept them). Use `friday flags team|rollout|on new-greeting --stack staging` instead. Nothing was changed.",
  );
  await expect(friday("restore", "recommendations", "--stack", "staging")).rejects.toThrow(
    "recommendations is on (everyone) on staging, not killed: restore only undoes `friday flags kill`.",
  );
  expect(appconfig).not.toHaveReceivedCommand(CreateHostedConfigurationVersionCommand);
});

test("AppConfig refusing the document (BadRequestException) is one message naming each problem; nothing deployed", async () => {
  deployed("staging", { "new-greeting": { state: { mode: "off" } }, recommendations: { state: { mode: "on" } } });
  appconfig.on(CreateHostedConfigurationVersionCommand).rejects(
    Object.assign(new Error("Error while validating configuration data"), {
      name: "BadRequestException",
      Reason: "InvalidConfiguration",
      Details: { InvalidConfiguration: [{ Location: "/values/new-greeting/_variants/0", Reason: "must NOT have additional properties", Type: "Syntax", Constraint: "additionalProperties", Value: "maxItems" }] },
    }),
  );
  await expect(friday("on", "new-greeting", "--stack", "staging")).rejects.toThrow(
    "AppConfig refused the new flags version on staging: /values/new-greeting/_variants/0: must NOT have additional properties (constraint: additionalProperties) (value: maxItems). Nothing was created or deployed. friday builds the document from flags.yaml and the live flags: `npm test` validates what it builds against AWS's AWS.AppConfig.FeatureFlags schema; fix what the message names in flags.yaml, or report it if the tests pass.",
  );
  expect(appconfig).not.toHaveReceivedCommand(StartDeploymentCommand);
  appconfig.on(CreateHostedConfigurationVersionCommand).rejects(Object.assign(new Error("Content too large"), { name: "BadRequestException" }));
  await expect(friday("on", "new-greeting", "--stack", "staging")).rejects.toThrow(/^AppConfig refused the new flags version on staging: Content too large\. Nothing was created or deployed\./);
});

test("an alarm rolling the flag deployment back fails the command, saying the flag did not change", async () => {
  deployed("staging", { "new-greeting": { state: { mode: "off" } }, recommendations: { state: { mode: "on" } } });
  appconfig
    .on(GetDeploymentCommand, { DeploymentNumber: 7 })
    .resolves({ State: "ROLLED_BACK", PercentageComplete: 40, EventLog: [{ Description: "Rollback initiated by alarm friday-staging-5xx" }] } as never);
  await expect(friday("on", "new-greeting", "--stack", "staging", "--json")).rejects.toThrow(
    "Deployment #7 ended ROLLED_BACK: new-greeting stays off on staging. (Rollback initiated by alarm friday-staging-5xx)",
  );
  expect(JSON.parse(out.at(-1)!)).toMatchObject({ ok: false, state: "ROLLED_BACK", deploymentNumber: 7 });
  expect(err.join("\n")).toContain("#7: ROLLED_BACK 40%");
});

test("no change, no deployment", async () => {
  deployed("staging", { "new-greeting": { state: { mode: "on" } }, recommendations: { state: { mode: "on" } } });
  await friday("on", "new-greeting", "--stack", "staging");
  expect(out.at(-1)).toBe("new-greeting is already on (everyone) on staging: nothing to deploy.");
  expect(appconfig).not.toHaveReceivedCommand(CreateHostedConfigurationVersionCommand);
});

test("missing permissions and unprovisioned stacks are named with the fix", async () => {
  appconfig.on(ListDeploymentsCommand).rejects(Object.assign(new Error("User: arn:aws:iam::1:user/x is not authorized to perform: appconfig:ListDeployments"), { name: "AccessDeniedException" }));
  await expect(friday("on", "new-greeting", "--stack", "staging")).rejects.toThrow(
    /^Missing permission while listing flag deployments on staging: User: .* is not authorized to perform: appconfig:ListDeployments\. friday flags needs ssm:GetParameters, appconfig:ListDeployments, .* on the friday-staging AppConfig application/,
  );
  ssm.on(GetParametersCommand).resolves({ Parameters: [], InvalidParameters: ["/friday/prod/appconfig-application-id"] });
  await expect(friday("on", "new-greeting", "--stack", "prod", "--yes")).rejects.toThrow(
    /^Stack "prod" has no \/friday\/prod\/appconfig-application-id, .*: its feature flags are not provisioned, or --region points at another region\. If they should be there, apply the stack through the pipeline .*\(docs\/infra-pipeline\.md\)\.$/,
  );
});

test("list: state per stack, rollout %, owner, expiry and stale flags", async () => {
  deployed("staging", {
    "new-greeting": { state: targeted(["alice"], [], 5), updatedAt: "2026-11-25T09:00:00Z" },
    recommendations: { state: { mode: "on" } },
    "old-flag": { state: { mode: "on" } },
  });
  deployed("prod", { "new-greeting": { state: { mode: "on" }, updatedAt: "2026-10-01T00:00:00Z" } }, [
    { DeploymentNumber: 9, ConfigurationName: "flags", ConfigurationVersion: "4", State: "BAKING", PercentageComplete: 100 },
  ], ["recommendations"]);
  await friday("list");
  const printed = out.join("\n");
  const line = (flag: string, stack: string) => printed.split("\n").find((l) => l.startsWith(flag) && l.includes(` ${stack} `))!;
  expect(line("new-greeting", "staging")).toMatch(/team \(1 user\) \+ 5% of users\s+5%\s+team-web\s+2027-03-31$/);
  expect(line("new-greeting", "prod")).toMatch(/on \(everyone\)\s+100%\s+team-web\s+2027-03-31\s+at 100% for 56 days \(since 2026-10-01\)$/);
  expect(line("recommendations", "staging")).toMatch(/expired 2026-10-01; at 100% for 85 days \(since 2026-09-01\)$/);
  expect(line("recommendations", "prod")).toMatch(/not deployed \(default on \(everyone\)\)\s+-\s+team-discovery\s+2026-10-01\s+expired 2026-10-01$/);
  expect(line("old-flag", "staging")).toContain("not in flags.yaml any more: `friday flags sync --prune` removes it");
  expect(printed).toContain("prod: deployment #9 is BAKING (100%)");
  expect(printed).toContain("4 stale: remove the flag from the code and flags.yaml");

  out.length = 0;
  await friday("list", "--stack", "prod", "--json", "--stale-after-days", "90");
  const json = JSON.parse(out[0]);
  expect(json.staleAfterDays).toBe(90);
  expect(json.flags.find((r: { flag: string }) => r.flag === "new-greeting")).toEqual({
    flag: "new-greeting",
    stack: "prod",
    state: "on (everyone)",
    percent: 100,
    owner: "team-web",
    expires: "2027-03-31",
    stale: null,
  });
  expect(json.running).toEqual([{ stack: "prod", deployment: 9, state: "BAKING", percent: 100 }]);
});

test("sync: deploys flags.yaml as it is — new flags at their default, states kept, undeclared flags kept unless --prune", async () => {
  deployed("staging", { "new-greeting": { state: targeted([], [], 5) }, "old-flag": { state: { mode: "on" } } }, [], ["recommendations"]);
  await friday("sync", "--stack", "staging");
  const content = deployedContent();
  expect(content.values["new-greeting"]._variants.map((v: { name: string }) => v.name)).toEqual(["rollout", "default"]);
  expect(content.values.recommendations).toEqual({ enabled: true });
  expect(content.values["old-flag"]).toEqual({ enabled: true });
  const printed = out.join("\n");
  expect(printed).toContain("recommendations: not deployed yet → on (everyone) (its declared default)");
  expect(printed).toContain("old-flag: not in your flags.yaml → kept as deployed (--prune removes it)");
  expect(appconfig).toHaveReceivedCommandWith(StartDeploymentCommand, { DeploymentStrategyId: "gradual-staging", ConfigurationVersion: "4" });
  expect(out.at(-1)).toBe("staging runs flags.yaml as declared (deployment #7, version 4).");

  appconfig.resetHistory();
  out.length = 0;
  await friday("sync", "--stack", "staging", "--prune");
  expect(Object.keys(deployedContent().values).sort()).toEqual(["new-greeting", "recommendations"]);
  expect(out.join("\n")).toContain("old-flag: not in flags.yaml → removed (--prune)");
});

test("a flag change keeps flags a newer checkout declared, as deployed", async () => {
  deployed("staging", { "new-greeting": { state: { mode: "off" } }, recommendations: { state: { mode: "on" } }, "from-main": { state: { mode: "on" } } });
  await friday("on", "new-greeting", "--stack", "staging");
  expect(deployedContent().values["from-main"]).toEqual({ enabled: true });
});

test("sync with nothing to change deploys nothing", async () => {
  deployed("staging", { "new-greeting": { state: { mode: "off" } }, recommendations: { state: { mode: "on" } } });
  await friday("sync", "--stack", "staging");
  expect(out.at(-1)).toBe("staging already runs flags.yaml as it is: nothing to deploy.");
  expect(appconfig).not.toHaveReceivedCommand(CreateHostedConfigurationVersionCommand);
});

test("a deployment that does not end in time: the command stops following and says how to keep watching", async () => {
  deployed("staging", { "new-greeting": { state: { mode: "off" } }, recommendations: { state: { mode: "on" } } });
  appconfig.on(GetDeploymentCommand, { DeploymentNumber: 7 }).resolves({ State: "BAKING", PercentageComplete: 100 } as never);
  let clock = NOW.getTime();
  setFlagsCliContextForTests({
    clients: () => ({ appconfig: new AppConfigClient({ region: "eu-west-1" }), ssm: new SSMClient({ region: "eu-west-1" }) }),
    prompt: async () => true,
    sleep: async (ms) => void (clock += ms),
    now: () => new Date(clock),
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
  });
  await expect(friday("on", "new-greeting", "--stack", "staging", "--timeout-minutes", "1", "--poll-seconds", "10")).rejects.toThrow(
    "Deployment #7 on staging has not ended after 1 min (BAKING 100%): it keeps running; follow it with `friday flags list --stack staging`.",
  );
  expect(appconfig.commandCalls(GetDeploymentCommand).length).toBe(8);
});

test("end to end: what `friday flags` deploys is what the app's provider reads through the agent", async () => {
  const { OpenFeature } = await import("@openfeature/server-sdk");
  const { AppConfigAgentProvider } = await import("../../packages/openfeature-appconfig-agent/src");
  const { startFakeAgent } = await import("../../packages/openfeature-appconfig-agent/src/testing/fake-agent");
  deployed("staging", { "new-greeting": { state: targeted(["alice"], [], 0) }, recommendations: { state: { mode: "on" } } });
  await friday("rollout", "new-greeting", "--percent", "10", "--stack", "staging");
  const agent = await startFakeAgent();
  try {
    agent.deploy("friday-staging", "staging", "flags", deployedContent() as never);
    await OpenFeature.setProviderAndWait("e2e", new AppConfigAgentProvider({ application: "friday-staging", environment: "staging", endpoint: agent.url, timeoutMs: 10_000 }));
    const client = OpenFeature.getClient("e2e");
    expect(await client.getBooleanDetails("new-greeting", false, { targetingKey: "alice" })).toMatchObject({ value: true, variant: "team" });
    const users = Array.from({ length: 300 }, (_, i) => `u${i}`);
    const on = (await Promise.all(users.map((u) => client.getBooleanValue("new-greeting", false, { targetingKey: u })))).filter(Boolean).length;
    expect(on).toBeGreaterThan(10);
    expect(on).toBeLessThan(60);
    expect(await client.getBooleanValue("recommendations", false, { targetingKey: "bob" })).toBe(true);
  } finally {
    await OpenFeature.close();
    await agent.close();
  }
});
