import {
  CreateHostedConfigurationVersionCommand,
  DeploymentState,
  DeploymentSummary,
  GetDeploymentCommand,
  GetDeploymentCommandOutput,
  GetHostedConfigurationVersionCommand,
  ListDeploymentsCommand,
  StartDeploymentCommand,
  StopDeploymentCommand,
} from "@aws-sdk/client-appconfig";
import { FlagsFile, MAX_RULE_LENGTH } from "../../infra/flags";
import {
  declaredState,
  describeState,
  FLAGS_PROFILE_NAME,
  FlagState,
  LiveFlag,
  TargetedState,
  OFF,
  ON,
  parseAppConfigDocument,
  rolloutPercent,
  teamRule,
  toAppConfigDocument,
} from "../../infra/flags-appconfig";
import { explainAwsError, FlagsClients, FlagsError, FlagsResources } from "./aws";
import { flagChangeDescription, SYNC_DESCRIPTION } from "./description";

/**
 * The work behind `friday flags …`, as plain functions over AWS SDK clients. Every change is a new
 * hosted configuration version plus an AppConfig deployment (audited, alarm-monitored): the gradual
 * strategy for normal changes, the immediate one for a kill.
 */

const RUNNING: readonly string[] = [DeploymentState.DEPLOYING, DeploymentState.BAKING, DeploymentState.VALIDATING, DeploymentState.ROLLING_BACK];
const ENDED: readonly string[] = [DeploymentState.COMPLETE, DeploymentState.ROLLED_BACK, DeploymentState.REVERTED];

/** What is deployed on one stack right now. */
export interface StackFlags {
  readonly resources: FlagsResources;
  /** The version the last completed deployment made live (undefined: nothing deployed yet). */
  readonly liveVersion?: number;
  readonly live: Record<string, LiveFlag>;
  /** The live version's content as deployed (undefined: nothing deployed yet). */
  readonly content?: string;
  /** A deployment still running (deploying, baking or rolling back), if any. */
  readonly running?: DeploymentSummary;
  /** When the oldest deployment we can see completed: a lower bound for flags never changed since. */
  readonly since?: Date;
}

/** Reads the deployments of the stack's flags profile and the content the last completed one made live. */
export async function readStackFlags(clients: FlagsClients, resources: FlagsResources): Promise<StackFlags> {
  const { applicationId, environmentId, profileId, stack } = resources;
  let items: DeploymentSummary[];
  try {
    const out = await clients.appconfig.send(new ListDeploymentsCommand({ ApplicationId: applicationId, EnvironmentId: environmentId, MaxResults: 50 }));
    items = (out.Items ?? []).filter((d) => d.ConfigurationName === undefined || d.ConfigurationName === FLAGS_PROFILE_NAME);
  } catch (error) {
    throw explainAwsError(error, stack, "listing flag deployments");
  }
  // Newest first (AppConfig lists by descending deployment number).
  items.sort((a, b) => (b.DeploymentNumber ?? 0) - (a.DeploymentNumber ?? 0));
  const running = items.find((d) => RUNNING.includes(d.State ?? ""));
  const completed = items.find((d) => d.State === DeploymentState.COMPLETE);
  const oldest = items.at(-1);
  const since = oldest?.CompletedAt ?? oldest?.StartedAt;
  if (!completed?.ConfigurationVersion) return { resources, live: {}, running, since };
  const liveVersion = Number(completed.ConfigurationVersion);
  let content: string;
  try {
    const out = await clients.appconfig.send(
      new GetHostedConfigurationVersionCommand({ ApplicationId: applicationId, ConfigurationProfileId: profileId, VersionNumber: liveVersion }),
    );
    content = Buffer.from(out.Content ?? new Uint8Array()).toString("utf8");
  } catch (error) {
    throw explainAwsError(error, stack, `reading flags version ${liveVersion}`);
  }
  return { resources, liveVersion, live: parseAppConfigDocument(content), content, running, since };
}

/** One requested change. */
export type FlagChange =
  | { readonly kind: "on"; readonly flag: string }
  | { readonly kind: "off"; readonly flag: string }
  | { readonly kind: "kill"; readonly flag: string }
  | { readonly kind: "restore"; readonly flag: string }
  | { readonly kind: "rollout"; readonly flag: string; readonly percent: number }
  | { readonly kind: "team"; readonly flag: string; readonly users: readonly string[]; readonly groups: readonly string[] };

/** Checks a change against the flags file before anything is read or changed. */
export function validateChange(file: FlagsFile, change: FlagChange): void {
  if (!(change.flag in file.flags)) {
    const known = Object.keys(file.flags);
    throw new FlagsError(
      `Unknown flag "${change.flag}": flags.yaml declares ${known.length ? known.join(", ") : "no flags"}. Declare it there first (description, owner, default, expires).`,
    );
  }
  if (change.kind === "rollout" && !isPercent(change.percent)) throw percentError(String(change.percent));
  if (change.kind === "team") {
    if (change.users.length + change.groups.length === 0) throw new FlagsError("team needs --users a,b and/or --groups x,y: the user ids (targeting keys) or groups the flag turns on for.");
    const bad = [...change.users, ...change.groups].filter((id) => !/^[A-Za-z0-9._@+:-]{1,128}$/.test(id));
    if (bad.length) throw new FlagsError(`Not valid user ids or groups: ${bad.map((b) => JSON.stringify(b)).join(", ")} (letters, digits and . _ @ + : - only, up to 128 characters).`);
    const rule = teamRule(change.users, change.groups)!;
    if (rule.length > MAX_RULE_LENGTH) {
      throw new FlagsError(`That team makes a ${rule.length}-character rule; AppConfig takes at most ${MAX_RULE_LENGTH}: list fewer users and target a group (--groups) instead.`);
    }
  }
}

/** 0 to 100 with at most two decimals. Decimal text, not float arithmetic: 0.29 * 100 is 28.999999999999996. */
const PERCENT = /^(100(\.0{1,2})?|\d{1,2}(\.\d{1,2})?)$/;

function isPercent(value: number): boolean {
  return Number.isFinite(value) && PERCENT.test(String(value));
}

function percentError(raw: string): FlagsError {
  return new FlagsError(`--percent must be a number from 0 to 100 with at most two decimals (got ${JSON.stringify(raw)}): e.g. --percent 5 or --percent 0.25.`);
}

/** `--percent` as typed: "5", "0.29", "100"; anything else is refused with what was typed. */
export function parsePercent(raw: string): number {
  const text = raw.trim();
  if (!PERCENT.test(text)) throw percentError(raw);
  return Number(text);
}

/** The team/percentage a change builds on: the live one, or the one a kill put aside. */
function targetedBase(current: FlagState): TargetedState | undefined {
  if (current.mode === "targeted") return current;
  if (current.mode === "killed" && current.previous.mode === "targeted") return current.previous;
  return undefined;
}

/** The state a change leads to, from the flag's current state. */
export function nextState(current: FlagState, change: FlagChange): FlagState {
  switch (change.kind) {
    case "on":
      return ON;
    case "off":
      // A deliberate off forgets the team and percentage; a kill keeps them for `restore`.
      return OFF;
    case "kill":
      if (current.mode === "on" || current.mode === "targeted") return { mode: "killed", previous: current };
      return current.mode === "killed" ? current : OFF;
    case "restore":
      return current.mode === "killed" ? current.previous : current;
    case "rollout": {
      const team = targetedBase(current) ?? { users: [], groups: [] };
      if (change.percent === 100) return ON;
      if (change.percent === 0 && team.users.length + team.groups.length === 0) return OFF;
      return { mode: "targeted", users: team.users, groups: team.groups, percent: change.percent };
    }
    case "team":
      return { mode: "targeted", users: [...change.users], groups: [...change.groups], percent: targetedBase(current)?.percent ?? 0 };
  }
}

/** What a change will deploy: the new document and the lines that tell people what changes. */
export interface ChangePlan {
  readonly from: FlagState;
  readonly to: FlagState;
  readonly unchanged: boolean;
  readonly content: string;
  readonly lines: string[];
}

export function planChange(file: FlagsFile, live: Record<string, LiveFlag>, change: FlagChange, now: Date, prune = false): ChangePlan {
  const from = live[change.flag]?.state ?? declaredState(file.flags[change.flag]);
  const to = nextState(from, change);
  const unchanged = JSON.stringify(from) === JSON.stringify(to);
  const next: Record<string, LiveFlag> = { ...live, [change.flag]: { state: to, updatedAt: unchanged ? live[change.flag]?.updatedAt : now.toISOString() } };
  const lines = [`${change.flag}: ${describeState(from)} → ${describeState(to)}`];
  if (from.mode === "on" && to.mode === "targeted") lines.push(`  note: it was on for everyone; now only ${describeState(to)} get it`);
  if (to.mode === "killed" && !unchanged) lines.push(`  note: \`friday flags restore ${change.flag}\` brings back ${describeState(to.previous)}`);
  if (from.mode === "killed" && change.kind !== "restore" && change.kind !== "kill") {
    lines.push(`  note: replaces the state the kill kept (${describeState(from.previous)}); \`restore\` would have brought that back`);
  }
  lines.push(...otherFlagLines(file, live, prune, change.flag));
  return { from, to, unchanged, content: JSON.stringify(toAppConfigDocument(file, next, { prune })), lines };
}

/** What a deployment of the whole file also does to the flags not being changed. */
function otherFlagLines(file: FlagsFile, live: Record<string, LiveFlag>, prune: boolean, except?: string): string[] {
  const lines: string[] = [];
  for (const name of Object.keys(file.flags)) {
    if (name !== except && !(name in live)) lines.push(`${name}: not deployed yet → ${describeState(declaredState(file.flags[name]))} (its declared default)`);
  }
  for (const name of Object.keys(live)) {
    if (name in file.flags) continue;
    lines.push(prune ? `${name}: not in flags.yaml → removed (--prune)` : `${name}: not in your flags.yaml → kept as deployed (--prune removes it)`);
  }
  return lines;
}

export interface ChangeOptions {
  readonly log: (line: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
  /** Asked after the plan is printed, before anything changes (prod); throws to abort. */
  readonly confirm: (plan: string) => Promise<void>;
  readonly pollMs: number;
  readonly timeoutMs: number;
  /** Remove deployed flags the file no longer declares (default: keep them as deployed). */
  readonly prune?: boolean;
}

export interface ChangeResult {
  readonly ok: boolean;
  readonly stack: string;
  readonly flag: string;
  readonly from: string;
  readonly to: string;
  readonly deploymentNumber?: number;
  readonly version?: number;
  readonly state?: string;
  readonly message: string;
}

/** Applies one change on one stack and follows its deployment to the end. */
export async function changeFlag(clients: FlagsClients, resources: FlagsResources, file: FlagsFile, change: FlagChange, options: ChangeOptions): Promise<ChangeResult> {
  validateChange(file, change);
  const { stack } = resources;
  let current = await readStackFlags(clients, resources);
  const kill = change.kind === "kill";

  if (current.running && !kill) {
    const d = current.running;
    throw new FlagsError(
      `A flag deployment is already in progress on ${stack} (#${d.DeploymentNumber}, ${d.State} ${d.PercentageComplete ?? 0}%, started ${d.StartedAt?.toISOString() ?? "?"}): ` +
        `wait for it to end (\`friday flags list --stack ${stack}\`), or \`friday flags kill ${change.flag} --stack ${stack}\` to switch a flag off now. Nothing was changed.`,
    );
  }

  if (change.kind === "restore") checkRestorable(file, current.live, change.flag, stack);
  const preview = planChange(file, current.live, change, options.now(), options.prune);
  const strategy = kill ? "immediate (every agent at once, no bake)" : "gradual (alarm-monitored; an alarm rolls it back)";
  const header = `friday flags ${change.kind} ${change.flag} on ${stack}:`;
  const stopLine = kill && current.running ? [`stops deployment #${current.running.DeploymentNumber} (${current.running.State}) first: AppConfig rolls its changes back`] : [];
  options.log([header, ...stopLine.map((l) => `  ${l}`), ...preview.lines.map((l) => `  ${l}`), `  strategy: ${strategy}`].join("\n"));
  if (preview.unchanged && !current.running) {
    return { ok: true, stack, flag: change.flag, from: describeState(preview.from), to: describeState(preview.to), message: `${change.flag} is already ${describeState(preview.to)} on ${stack}: nothing to deploy.` };
  }
  await options.confirm([header, ...stopLine, ...preview.lines, `strategy: ${strategy}`].join("\n"));

  if (kill && current.running) {
    await stopRunning(clients, resources, current.running, options);
    current = await readStackFlags(clients, resources);
  }
  const plan = kill ? planChange(file, current.live, change, options.now(), options.prune) : preview;
  if (plan.unchanged) {
    return { ok: true, stack, flag: change.flag, from: describeState(plan.from), to: describeState(plan.to), message: `${change.flag} is ${describeState(plan.to)} on ${stack} after the rollback: nothing more to deploy.` };
  }

  const description = flagChangeDescription(change.kind, change.flag, describeState(plan.from), describeState(plan.to));
  const { version, deploymentNumber, end } = await deployContent(clients, resources, plan.content, kill, description, options);
  const ok = end.State === DeploymentState.COMPLETE;
  const result = {
    ok,
    stack,
    flag: change.flag,
    from: describeState(plan.from),
    to: describeState(plan.to),
    deploymentNumber,
    version,
    state: end.State,
    message: ok
      ? `${change.flag} is ${describeState(plan.to)} on ${stack} (deployment #${deploymentNumber}, version ${version}).`
      : `Deployment #${deploymentNumber} ended ${end.State}: ${change.flag} stays ${describeState(plan.from)} on ${stack}.${lastEvent(end)}`,
  };
  return result;
}

/** `restore` undoes a kill; a flag that is not killed has nothing to go back to, and says so. */
function checkRestorable(file: FlagsFile, live: Record<string, LiveFlag>, flag: string, stack: string): void {
  const state = live[flag]?.state ?? declaredState(file.flags[flag]);
  if (state.mode === "killed") return;
  const why =
    state.mode === "off"
      ? "there is no earlier team or percentage to bring back (`off` forgets them, and so did a kill made before friday kept them)"
      : "restore only undoes `friday flags kill`";
  throw new FlagsError(`${flag} is ${describeState(state)} on ${stack}, not killed: ${why}. Use \`friday flags team|rollout|on ${flag} --stack ${stack}\` instead. Nothing was changed.`);
}

/** AppConfig's refusal of a document (BadRequestException), as one message naming each problem. */
export function explainRefusedVersion(error: unknown, stack: string): Error {
  const e = error as { name?: string; message?: string; Details?: { InvalidConfiguration?: Array<{ Location?: string; Reason?: string; Type?: string; Constraint?: string; Value?: string }> } };
  if (e?.name !== "BadRequestException") return explainAwsError(error, stack, "creating the new flags version");
  const details = (e.Details?.InvalidConfiguration ?? []).map((d) =>
    [`${d.Location ?? "(document)"}: ${d.Reason ?? d.Type ?? "invalid"}`, d.Constraint ? ` (constraint: ${d.Constraint})` : "", d.Value ? ` (value: ${d.Value.slice(0, 80)})` : ""].join(""),
  );
  return new FlagsError(
    `AppConfig refused the new flags version on ${stack}: ${details.length ? details.join("; ") : (e.message ?? "BadRequestException")}. ` +
      "Nothing was created or deployed. friday builds the document from flags.yaml and the live flags: `npm test` validates what it builds against AWS's AWS.AppConfig.FeatureFlags schema; fix what the message names in flags.yaml, or report it if the tests pass.",
  );
}

/** Creates a hosted version with `content`, deploys it (gradual, or immediate) and follows it to its end. */
async function deployContent(
  clients: FlagsClients,
  resources: FlagsResources,
  content: string,
  immediate: boolean,
  description: string,
  options: ChangeOptions,
): Promise<{ version: number; deploymentNumber: number; end: GetDeploymentCommandOutput }> {
  const { applicationId, environmentId, profileId, stack } = resources;
  let version: number;
  let deploymentNumber: number;
  try {
    const created = await clients.appconfig.send(
      new CreateHostedConfigurationVersionCommand({
        ApplicationId: applicationId,
        ConfigurationProfileId: profileId,
        Content: Buffer.from(content, "utf8"),
        ContentType: "application/json",
        Description: description.slice(0, 1024),
      }),
    );
    version = created.VersionNumber!;
  } catch (error) {
    throw explainRefusedVersion(error, stack);
  }
  try {
    const started = await clients.appconfig.send(
      new StartDeploymentCommand({
        ApplicationId: applicationId,
        EnvironmentId: environmentId,
        ConfigurationProfileId: profileId,
        ConfigurationVersion: String(version),
        DeploymentStrategyId: immediate ? resources.immediateStrategyId : resources.gradualStrategyId,
        Description: description.slice(0, 1024),
      }),
    );
    deploymentNumber = started.DeploymentNumber!;
  } catch (error) {
    if ((error as { name?: string }).name === "ConflictException") {
      throw new FlagsError(`Another flag deployment started on ${stack} meanwhile (${(error as Error).message}): run the command again once it ends. Version ${version} was created but not deployed.`);
    }
    throw explainAwsError(error, stack, "starting the deployment");
  }
  options.log(`Version ${version}: deployment #${deploymentNumber} started (${immediate ? "immediate" : "gradual"}).`);
  return { version, deploymentNumber, end: await follow(clients, resources, deploymentNumber, options) };
}

/**
 * Deploys flags.yaml as it is, every flag keeping its live state: new flags appear at their declared
 * default (dark), changed descriptions/attributes/expiry are updated, undeclared flags kept (or pruned).
 */
export async function syncFlags(clients: FlagsClients, resources: FlagsResources, file: FlagsFile, options: ChangeOptions): Promise<ChangeResult> {
  const { stack } = resources;
  const current = await readStackFlags(clients, resources);
  if (current.running) {
    const d = current.running;
    throw new FlagsError(`A flag deployment is already in progress on ${stack} (#${d.DeploymentNumber}, ${d.State} ${d.PercentageComplete ?? 0}%): wait for it to end (\`friday flags list --stack ${stack}\`). Nothing was changed.`);
  }
  const content = JSON.stringify(toAppConfigDocument(file, current.live, { prune: options.prune }));
  const unchanged = current.content !== undefined && JSON.stringify(JSON.parse(current.content)) === content;
  const lines = otherFlagLines(file, current.live, Boolean(options.prune));
  if (!unchanged && lines.length === 0) lines.push("flag definitions updated (descriptions, attributes, expiry dates); no flag changes state");
  const header = `friday flags sync on ${stack}:`;
  options.log([header, ...lines.map((l) => `  ${l}`), "  strategy: gradual (alarm-monitored)"].join("\n"));
  if (unchanged) return { ok: true, stack, flag: "*", from: "-", to: "-", message: `${stack} already runs flags.yaml as it is: nothing to deploy.` };
  await options.confirm([header, ...lines, "strategy: gradual"].join("\n"));
  const { version, deploymentNumber, end } = await deployContent(clients, resources, content, false, SYNC_DESCRIPTION, options);
  const ok = end.State === DeploymentState.COMPLETE;
  return {
    ok,
    stack,
    flag: "*",
    from: "-",
    to: "-",
    deploymentNumber,
    version,
    state: end.State,
    message: ok ? `${stack} runs flags.yaml as declared (deployment #${deploymentNumber}, version ${version}).` : `Deployment #${deploymentNumber} ended ${end.State}: ${stack} keeps its previous flags.${lastEvent(end)}`,
  };
}

function lastEvent(deployment: GetDeploymentCommandOutput): string {
  const event = deployment.EventLog?.find((e) => /roll|alarm|stop/i.test(e.Description ?? ""));
  return event?.Description ? ` (${event.Description})` : "";
}

async function stopRunning(clients: FlagsClients, resources: FlagsResources, running: DeploymentSummary, options: ChangeOptions): Promise<void> {
  const { applicationId, environmentId, stack } = resources;
  try {
    await clients.appconfig.send(new StopDeploymentCommand({ ApplicationId: applicationId, EnvironmentId: environmentId, DeploymentNumber: running.DeploymentNumber }));
  } catch (error) {
    throw explainAwsError(error, stack, `stopping deployment #${running.DeploymentNumber}`);
  }
  options.log(`Stopped deployment #${running.DeploymentNumber}; waiting for its rollback…`);
  await follow(clients, resources, running.DeploymentNumber!, options);
}

/** Polls a deployment until it ends, printing progress as it changes. */
async function follow(clients: FlagsClients, resources: FlagsResources, deploymentNumber: number, options: ChangeOptions): Promise<GetDeploymentCommandOutput> {
  const started = options.now().getTime();
  let last = "";
  for (;;) {
    let deployment: GetDeploymentCommandOutput;
    try {
      deployment = await clients.appconfig.send(
        new GetDeploymentCommand({ ApplicationId: resources.applicationId, EnvironmentId: resources.environmentId, DeploymentNumber: deploymentNumber }),
      );
    } catch (error) {
      throw explainAwsError(error, resources.stack, `following deployment #${deploymentNumber}`);
    }
    const line = `  #${deploymentNumber}: ${deployment.State} ${deployment.PercentageComplete ?? 0}%`;
    if (line !== last) options.log(line);
    last = line;
    if (ENDED.includes(deployment.State ?? "")) return deployment;
    if (options.now().getTime() - started > options.timeoutMs) {
      throw new FlagsError(
        `Deployment #${deploymentNumber} on ${resources.stack} has not ended after ${Math.round(options.timeoutMs / 60000)} min (${deployment.State} ${deployment.PercentageComplete ?? 0}%): it keeps running; follow it with \`friday flags list --stack ${resources.stack}\`.`,
      );
    }
    await options.sleep(options.pollMs);
  }
}

/** One row of `friday flags list`. */
export interface FlagRow {
  readonly flag: string;
  readonly stack: string;
  readonly state: string;
  readonly percent: number | null;
  readonly owner: string;
  readonly expires: string;
  /** Why the flag is stale (past expiry, fully on/off too long), or null. */
  readonly stale: string | null;
}

const DAY = 86_400_000;

/** Each declared (and each deployed-but-undeclared) flag's state on a stack, with stale reasons. */
export function flagRows(file: FlagsFile, stackFlags: StackFlags, now: Date, staleAfterDays: number): FlagRow[] {
  const rows: FlagRow[] = [];
  const today = now.toISOString().slice(0, 10);
  const { stack } = stackFlags.resources;
  for (const [flag, declaration] of Object.entries(file.flags)) {
    const live = stackFlags.live[flag];
    const reasons: string[] = [];
    if (declaration.expires < today) reasons.push(`expired ${declaration.expires}`);
    if (live && live.state.mode !== "targeted") {
      const sinceText = live.updatedAt ?? stackFlags.since?.toISOString();
      const days = sinceText ? Math.floor((now.getTime() - Date.parse(sinceText)) / DAY) : undefined;
      if (days !== undefined && days > staleAfterDays) reasons.push(`${live.state.mode === "on" ? "at 100%" : "at 0%"} for ${days} days (since ${sinceText!.slice(0, 10)})`);
    }
    rows.push({
      flag,
      stack,
      state: live ? describeState(live.state) : `not deployed (default ${describeState(declaredState(declaration))})`,
      percent: live ? rolloutPercent(live.state) : null,
      owner: declaration.owner,
      expires: declaration.expires,
      stale: reasons.length ? reasons.join("; ") : null,
    });
  }
  for (const [flag, live] of Object.entries(stackFlags.live)) {
    if (flag in file.flags) continue;
    rows.push({ flag, stack, state: describeState(live.state), percent: rolloutPercent(live.state), owner: "?", expires: "?", stale: "not in flags.yaml any more: `friday flags sync --prune` removes it" });
  }
  return rows;
}

/** A plain-text table. */
export function renderRows(rows: FlagRow[]): string {
  const header = ["FLAG", "STACK", "STATE", "ROLLOUT", "OWNER", "EXPIRES", "STALE"];
  const cells = rows.map((r) => [r.flag, r.stack, r.state, r.percent === null ? "-" : `${r.percent}%`, r.owner, r.expires, r.stale ?? ""]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return [header, ...cells].map((c) => c.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}
