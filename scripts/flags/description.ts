/**
 * The description `friday flags` gives each AppConfig deployment it starts, and its parser: the
 * deployment history (AppConfig GetDeployment) is where `friday metrics` reads which flag went
 * from what to what, so writer and reader live side by side.
 */

/** The change kinds `friday flags` deploys (one per subcommand that changes a flag). */
export const FLAG_CHANGE_KINDS = ["on", "off", "kill", "restore", "rollout", "team"] as const;
export type FlagChangeKind = (typeof FLAG_CHANGE_KINDS)[number];

/** The description of a sync deployment (the whole file, states kept). */
export const SYNC_DESCRIPTION = "friday flags sync: flags.yaml as declared, states kept";

/** `friday flags <kind> <flag>: <from> → <to>`, with the states as describeState() words them. */
export function flagChangeDescription(kind: FlagChangeKind, flag: string, from: string, to: string): string {
  return `friday flags ${kind} ${flag}: ${from} → ${to}`;
}

/** A deployment description read back: one flag's change, a sync, or undefined (not friday's). */
export type ParsedFlagDescription =
  | { readonly kind: FlagChangeKind; readonly flag: string; readonly from: string; readonly to: string }
  | { readonly kind: "sync" };

const CHANGE = new RegExp(`^friday flags (${FLAG_CHANGE_KINDS.join("|")}) (\\S+): (.*) → (.*)$`, "s");

export function parseFlagDescription(description: string | undefined): ParsedFlagDescription | undefined {
  if (!description) return undefined;
  if (description.startsWith("friday flags sync")) return { kind: "sync" };
  const m = CHANGE.exec(description);
  if (!m) return undefined;
  return { kind: m[1] as FlagChangeKind, flag: m[2], from: m[3], to: m[4] };
}
