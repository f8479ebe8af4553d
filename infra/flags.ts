import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { parseRule, RuleSyntaxError } from "../packages/openfeature-appconfig-agent/src/rules";

/**
 * Flags as code: every feature flag is declared in `flags.yaml` at the repository root, validated
 * here before anything is deployed. The stack creates the AppConfig profile from it (all flags at
 * their declared default: features ship dark) and `friday flags …` changes their state.
 */

export const FLAGS_FILE = join(__dirname, "..", "flags.yaml");

/** AppConfig's key pattern for flags and attributes. */
const KEY = /^[a-z][a-zA-Z\d_-]{0,63}$/;
/**
 * Longest variant rule AppConfig takes: the `rule` maxLength in AWS's published
 * AWS.AppConfig.FeatureFlags schema (infra/flags-appconfig.schema.json).
 */
export const MAX_RULE_LENGTH = 16384;
/** Variant names friday manages itself (team → rollout → default). */
export const RESERVED_VARIANTS = ["team", "rollout", "default"] as const;

const attributeValue = z.union([
  z.string().max(1024),
  z.number(),
  z.boolean(),
  z.array(z.string().max(1024)).max(100),
  z.array(z.number()).max(100),
])
  // AWS's schema types a list by its items (oneOf strings / numbers): an empty list matches both, so
  // AppConfig refuses it.
  .refine((v) => !Array.isArray(v) || v.length > 0, "is an empty list: give at least one value (AppConfig cannot tell its type)");

const attributes = z
  .record(z.string().regex(KEY, 'must start with a lowercase letter and use letters, digits, "_" or "-" (max 64)'), attributeValue)
  .refine((a) => Object.keys(a).length <= 25, "at most 25 attributes (an AppConfig limit)")
  .refine((a) => !("enabled" in a), '"enabled" is reserved: the flag itself is the on/off switch');

const rule = z.string().max(MAX_RULE_LENGTH, `is longer than the ${MAX_RULE_LENGTH} characters AppConfig takes`).superRefine((text, ctx) => {
  try {
    parseRule(text);
  } catch (error) {
    if (!(error instanceof RuleSyntaxError)) throw error;
    ctx.addIssue({ code: "custom", message: `is not a valid AppConfig rule: ${error.message} in ${JSON.stringify(text)}` });
  }
});

const variant = z
  .object({
    /** Variant name as AppConfig shows it; team/rollout/default are friday's own. */
    name: z
      .string()
      .min(1)
      .max(64)
      .refine((n) => !(RESERVED_VARIANTS as readonly string[]).includes(n), `is reserved (${RESERVED_VARIANTS.join(", ")} are friday's own variants)`),
    /** AppConfig rule, e.g. `(ends_with $email "@example.com")` or `(split by::$userId pct::10)`. */
    rule,
    /** Whether the flag is on for users this variant matches. */
    enabled: z.boolean(),
    /** Attribute values for this variant (override the flag's). */
    attributes: attributes.optional(),
  })
  .strict();

const isoDate = z
  .union([z.string(), z.date()])
  .transform((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v))
  .pipe(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like "2027-03-31"').refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), "is not a real date"));

const flag = z
  .object({
    /** What the flag switches, for whoever finds it later. */
    description: z.string().trim().min(1, "is required: say what the flag switches").max(1024),
    /** Team or person responsible for rolling it out and removing it. */
    owner: z.string().trim().min(1, "is required: who rolls this out and removes it"),
    /** The value before anyone changes it (false: the feature ships dark); also the app's fallback. */
    default: z.boolean({ error: "must be true or false (false ships the feature dark)" }),
    /** When the flag should be gone from the code; past it, `friday flags list` reports it stale. */
    expires: isoDate,
    /** Static attributes delivered with the flag. */
    attributes: attributes.optional(),
    /** Extra targeting variants, evaluated after the team and before the percentage rollout. */
    variants: z.array(variant).max(20).optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    const names = new Set<string>();
    f.variants?.forEach((v, i) => {
      if (names.has(v.name)) ctx.addIssue({ code: "custom", path: ["variants", i, "name"], message: `"${v.name}" is declared twice` });
      names.add(v.name);
      for (const key of Object.keys(v.attributes ?? {})) {
        if (!(key in (f.attributes ?? {}))) {
          ctx.addIssue({ code: "custom", path: ["variants", i, "attributes", key], message: "is not declared in the flag's attributes (declare it there with its default value)" });
        }
      }
    });
  });

export const flagsFileSchema = z
  .object({
    /** Defaults for `friday flags list`. */
    settings: z
      .object({
        /** A flag fully on (100%) or off (0%) for longer than this many days is reported stale. */
        staleAfterDays: z.number().int().min(1).max(365).default(30),
      })
      .strict()
      .default({ staleAfterDays: 30 }),
    flags: z
      .record(z.string(), flag)
      .superRefine((flags, ctx) => {
        for (const name of Object.keys(flags)) {
          if (!KEY.test(name)) {
            ctx.addIssue({ code: "custom", path: [name], message: 'is not a valid flag name: start with a lowercase letter, then letters, digits, "_" or "-" (max 64)' });
          }
        }
      }),
  })
  .strict();

export type FlagsFile = z.infer<typeof flagsFileSchema>;
export type FlagDeclaration = FlagsFile["flags"][string];

/** A flags file that does not validate: one message listing every problem by its YAML path. */
export class FlagsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlagsFileError";
  }
}

/** Validates an already-parsed flags document. */
export function parseFlagsFile(raw: unknown, source = "flags.yaml"): FlagsFile {
  const result = flagsFileSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
    return `  - ${path || "(top level)"}: ${issue.message}`;
  });
  throw new FlagsFileError(`${source} is invalid:\n${problems.join("\n")}`);
}

/** Reads and validates a flags file (default: flags.yaml at the repository root). */
export function loadFlagsFile(path = FLAGS_FILE): FlagsFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new FlagsFileError(`No flags file at ${path}: create it (see docs/runbooks/flags.md) or pass --file.`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new FlagsFileError(`${path} is not valid YAML: ${(error as Error).message}`);
  }
  return parseFlagsFile(raw, path);
}
