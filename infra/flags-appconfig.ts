import { parseRule, RuleNode } from "../packages/openfeature-appconfig-agent/src/rules";
import { FlagDeclaration, FlagsFile } from "./flags";
import { stackName } from "./naming";

/**
 * The flags file and each flag's live state, as an `AWS.AppConfig.FeatureFlags` document (what a
 * hosted configuration version holds), and back. A flag's state is one of:
 *
 * - off: `{ "enabled": false }` — nobody;
 * - on: `{ "enabled": true }` — everybody;
 * - targeted: a multi-variant flag, evaluated by the agent in order:
 *   `team` (user ids / groups) → the file's own variants → `rollout` (`split` on the user id, seeded
 *   with the flag name so flags bucket independently and raising the percentage only adds users)
 *   → `default` (off);
 * - killed: off for everybody, remembering what it was so `friday flags restore` can bring it back.
 *   The schema has no free-form field to keep that in (every level is additionalProperties: false, and
 *   attribute values would reach the app and hold 1024 characters at most), so a killed flag keeps
 *   the variants it had with every one of them disabled: the agent answers off for everyone, and the
 *   rules still say who was in. A flag that was on for everyone keeps a disabled 100% `rollout`.
 *
 * Attribute values live on the flag value for basic flags and in each variant's `attributeValues`:
 * the schema allows only name, enabled, rule and attributeValues on a variant (see
 * infra/flags-appconfig.schema.json, AWS's published schema, which the tests validate against).
 */

/** The feature-flag profile's name in every stack. */
export const FLAGS_PROFILE_NAME = "flags";

/** AppConfig names of a stack's flags: application friday-<stack>, environment <stack>, profile flags. */
export function appConfigNames(stack: string): { application: string; environment: string; profile: string } {
  return { application: stackName(stack), environment: stack, profile: FLAGS_PROFILE_NAME };
}

/** Context keys the rules read: the OpenFeature targeting key is sent as userId (see the provider). */
export const FLAG_CONTEXT = { user: "userId", group: "group" } as const;

export type TargetedState = { readonly mode: "targeted"; readonly users: readonly string[]; readonly groups: readonly string[]; readonly percent: number };
export type FlagState =
  | { readonly mode: "off" }
  | { readonly mode: "on" }
  | TargetedState
  /** Off for everyone after `friday flags kill`; `previous` is what `friday flags restore` brings back. */
  | { readonly mode: "killed"; readonly previous: { readonly mode: "on" } | TargetedState };

/** A flag's state in a deployed document, and when friday last changed it. */
export interface LiveFlag {
  readonly state: FlagState;
  /** ISO time of the last state change (from the flag's `_updatedAt`), if known. */
  readonly updatedAt?: string;
  /** The flag's definition and value as deployed, so a flag the file no longer declares can be kept as is. */
  readonly raw?: { readonly definition: AppConfigFlagsDocument["flags"][string]; readonly value: AppConfigFlagsDocument["values"][string] };
}

type Json = string | number | boolean | string[] | number[];
/** A variant as AWS.AppConfig.FeatureFlags defines it: these four keys and no others. */
export interface AppConfigVariant {
  name: string;
  enabled: boolean;
  rule?: string;
  attributeValues?: Record<string, Json>;
}
export interface AppConfigFlagsDocument {
  version: "1";
  flags: Record<string, { name: string; description?: string; _updatedAt?: string; _deprecation?: { status: "planned"; date: string }; attributes?: Record<string, unknown> }>;
  values: Record<string, ({ enabled: boolean } & Record<string, unknown>) | { _variants: AppConfigVariant[] }>;
}

export const OFF: FlagState = { mode: "off" };
export const ON: FlagState = { mode: "on" };

/** The state a flag starts in: its declared default. */
export function declaredState(declaration: FlagDeclaration): FlagState {
  return declaration.default ? ON : OFF;
}

/** Share of users the flag is on for, not counting the team and the file's own variants. */
export function rolloutPercent(state: FlagState): number {
  return state.mode === "on" ? 100 : state.mode === "targeted" ? state.percent : 0;
}

/** One line for people: "off", "on (everyone)", "team (2 users, 1 group) + 5%", "killed (was …)". */
export function describeState(state: FlagState): string {
  if (state.mode === "off") return "off";
  if (state.mode === "on") return "on (everyone)";
  if (state.mode === "killed") return `killed (off; was ${describeState(state.previous)})`;
  const members = [state.users.length ? plural(state.users.length, "user") : "", state.groups.length ? plural(state.groups.length, "group") : ""].filter(Boolean);
  const team = members.length ? `team (${members.join(", ")})` : "";
  const pct = state.percent > 0 || !team ? `${state.percent}% of users` : "";
  return [team, pct].filter(Boolean).join(" + ");
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** `(in $userId ["a","b"])`, `(in $group ["x"])`, or both under `or`. */
export function teamRule(users: readonly string[], groups: readonly string[]): string | undefined {
  const list = (values: readonly string[]) => `[${values.map((v) => JSON.stringify(v)).join(", ")}]`;
  const parts = [
    users.length ? `(in $${FLAG_CONTEXT.user} ${list(users)})` : "",
    groups.length ? `(in $${FLAG_CONTEXT.group} ${list(groups)})` : "",
  ].filter(Boolean);
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : `(or ${parts.join(" ")})`;
}

export function rolloutRule(flag: string, percent: number): string {
  return `(split by::$${FLAG_CONTEXT.user} pct::${percent} seed::${JSON.stringify(flag)})`;
}

function attributeConstraint(value: Json): Record<string, unknown> {
  if (Array.isArray(value)) return { constraints: { type: "array", elements: { type: typeof value[0] === "number" ? "number" : "string" } } };
  return { constraints: { type: typeof value } };
}

function flagValue(name: string, declaration: FlagDeclaration, state: FlagState): AppConfigFlagsDocument["values"][string] {
  const attrs = (declaration.attributes ?? {}) as Record<string, Json>;
  if (state.mode === "off" || state.mode === "on") return { enabled: state.mode === "on", ...attrs };
  const killed = state.mode === "killed";
  const targeted: TargetedState = state.mode === "killed" ? (state.previous.mode === "on" ? { mode: "targeted", users: [], groups: [], percent: 100 } : state.previous) : state;
  const variant = (name: string, enabled: boolean, rule: string | undefined, values: Record<string, Json>): AppConfigVariant => ({
    name,
    // A kill disables every variant, the file's own included: off for everyone, rules kept.
    enabled: killed ? false : enabled,
    ...(rule === undefined ? {} : { rule }),
    ...(Object.keys(values).length ? { attributeValues: values } : {}),
  });
  const variants: AppConfigVariant[] = [];
  const team = teamRule(targeted.users, targeted.groups);
  if (team) variants.push(variant("team", true, team, attrs));
  for (const v of declaration.variants ?? []) variants.push(variant(v.name, v.enabled, v.rule, { ...attrs, ...((v.attributes ?? {}) as Record<string, Json>) }));
  if (targeted.percent > 0) variants.push(variant("rollout", true, rolloutRule(name, targeted.percent), attrs));
  variants.push(variant("default", false, undefined, attrs));
  return { _variants: variants };
}

/**
 * The AppConfig document for the declared flags, each in its live state (or its declared default).
 * Flags that are live but not declared (removed from the file, or declared in a newer checkout than
 * this one) are kept exactly as deployed, unless `prune` (then they are left out).
 */
export function toAppConfigDocument(file: FlagsFile, live: Readonly<Record<string, LiveFlag>> = {}, options: { prune?: boolean } = {}): AppConfigFlagsDocument {
  const document: AppConfigFlagsDocument = { version: "1", flags: {}, values: {} };
  for (const [name, declaration] of Object.entries(file.flags)) {
    const current = live[name];
    const state = current?.state ?? declaredState(declaration);
    const attributes = Object.fromEntries(Object.entries(declaration.attributes ?? {}).map(([k, v]) => [k, attributeConstraint(v as Json)]));
    document.flags[name] = {
      name,
      description: `${declaration.description} (owner: ${declaration.owner})`.slice(0, 1024),
      ...(current?.updatedAt ? { _updatedAt: current.updatedAt } : {}),
      _deprecation: { status: "planned", date: declaration.expires },
      ...(Object.keys(attributes).length ? { attributes } : {}),
    };
    document.values[name] = flagValue(name, declaration, state);
  }
  if (!options.prune) {
    for (const [name, current] of Object.entries(live)) {
      if (name in file.flags || !current.raw) continue;
      document.flags[name] = current.raw.definition;
      document.values[name] = current.raw.value;
    }
  }
  return document;
}

/** Reads each flag's state back from a deployed document (one friday wrote). */
export function parseAppConfigDocument(content: string | AppConfigFlagsDocument): Record<string, LiveFlag> {
  let document: AppConfigFlagsDocument;
  try {
    document = typeof content === "string" ? JSON.parse(content) : content;
  } catch (error) {
    throw new Error(`The deployed flags configuration is not JSON (${(error as Error).message}); was it edited outside friday?`);
  }
  if (!document || typeof document !== "object" || typeof document.values !== "object") {
    throw new Error('The deployed flags configuration has no "values": is the profile of type AWS.AppConfig.FeatureFlags?');
  }
  const live: Record<string, LiveFlag> = {};
  for (const [name, value] of Object.entries(document.values ?? {})) {
    const updatedAt = document.flags?.[name]?._updatedAt;
    live[name] = { state: stateOf(value), ...(updatedAt ? { updatedAt } : {}), raw: { definition: document.flags?.[name] ?? { name }, value } };
  }
  return live;
}

function stateOf(value: AppConfigFlagsDocument["values"][string]): FlagState {
  if (!("_variants" in value)) return value.enabled ? ON : OFF;
  const users: string[] = [];
  const groups: string[] = [];
  let percent = 0;
  let killed = false;
  for (const variant of value._variants as AppConfigVariant[]) {
    if (variant.name === "team" && variant.rule) collectTeam(parseRule(variant.rule), users, groups);
    if (variant.name === "rollout" && variant.rule) {
      const node = parseRule(variant.rule);
      if (node.kind === "call" && node.op === "split" && node.named.pct?.kind === "number") percent = node.named.pct.value;
    }
    // friday's team and rollout variants are only ever disabled by a kill.
    if ((variant.name === "team" || variant.name === "rollout") && variant.enabled === false) killed = true;
  }
  const targeted: TargetedState = { mode: "targeted", users, groups, percent };
  if (!killed) return targeted;
  return { mode: "killed", previous: percent === 100 && users.length + groups.length === 0 ? { mode: "on" } : targeted };
}

function collectTeam(node: RuleNode, users: string[], groups: string[]): void {
  if (node.kind !== "call") return;
  if (node.op === "in" && node.args[0].kind === "context" && node.args[1].kind === "list") {
    const values = node.args[1].items.flatMap((item) => (item.kind === "string" ? [item.value] : []));
    if (node.args[0].key === FLAG_CONTEXT.user) users.push(...values);
    if (node.args[0].key === FLAG_CONTEXT.group) groups.push(...values);
  }
  node.args.forEach((child) => collectTeam(child, users, groups));
}
