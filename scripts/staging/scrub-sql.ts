import { createHmac } from "node:crypto";
import type { ColumnInfo } from "./column-info";
import { ColumnRule, JsonPathRule } from "./scrub-rules";

/** Schema the scrub keeps its state and helper functions in; never part of the coverage check. */
export const SCRUB_SCHEMA = "friday_scrub";

/**
 * The masking SQL: one expression per masked column, evaluated inside PostgreSQL by a single table
 * rewrite. Only core PostgreSQL functions (sha256, hashtextextended, jsonb_set_lax, ...): nothing that
 * needs an extension, so it runs the same on Amazon RDS.
 *
 * Keys. The caller's secret never appears in SQL text (statement logs, pg_stat_statements): the scrub
 * derives sub-keys from it here, sends them as bind parameters into session settings, and the
 * helper functions friday_scrub.ki()/ko()/seed() read them. They are declared IMMUTABLE so the
 * planner folds them into constants once per statement instead of once per row.
 *
 * - Values that must stay consistent and distinct (email, hash; and so every join, foreign key and
 *   unique constraint on them): HMAC-SHA256 with a key derived from the secret, computed with two
 *   core sha256() calls over the precomputed inner/outer pads: HMAC(k, m) = H(k⊕opad ‖ H(k⊕ipad ‖ m)).
 * - Everything else (names, phones, addresses, date shifts): picked from fixed word lists by the
 *   core 64-bit hashtextextended(value, seed), with the seed derived from the same secret — far
 *   cheaper than an HMAC, still deterministic (same input → same output in every table and every
 *   run), and the output carries only a few bits chosen from public lists.
 * - text: lorem ipsum of the same length class (the largest power of two ≤ the length); no key.
 */

/** Material derived from the secret key; only ever sent as bind parameters. */
export interface ScrubKeyMaterial {
  /** HMAC key used for email/hash pseudonyms. */
  readonly macKey: Buffer;
  /** (macKey padded to 64 bytes) XOR 0x36, hex. */
  readonly innerPadHex: string;
  /** (macKey padded to 64 bytes) XOR 0x5c, hex. */
  readonly outerPadHex: string;
  /** Signed 64-bit seed for hashtextextended, decimal. */
  readonly seed: string;
  /** A short, non-reversible fingerprint of the key, recorded with the scrub state. */
  readonly fingerprint: string;
}

export const MIN_KEY_BYTES = 32;

/** Derives the sub-keys. Throws (naming the fix) when the key is too short to be a real secret. */
export function deriveKeyMaterial(key: string | Buffer): ScrubKeyMaterial {
  const secret = typeof key === "string" ? Buffer.from(key, "utf8") : key;
  if (secret.length < MIN_KEY_BYTES) {
    throw new Error(
      `the scrub key is ${secret.length} bytes: use at least ${MIN_KEY_BYTES} random bytes (e.g. \`openssl rand -base64 48\`) stored in Secrets Manager`,
    );
  }
  const derive = (label: string) => createHmac("sha256", secret).update(`friday-scrub/v1/${label}`).digest();
  const macKey = derive("mac");
  const block = Buffer.alloc(64);
  macKey.copy(block);
  const xor = (byte: number) => Buffer.from(block.map((b) => b ^ byte)).toString("hex");
  return {
    macKey,
    innerPadHex: xor(0x36),
    outerPadHex: xor(0x5c),
    seed: derive("seed").readBigInt64BE(0).toString(),
    fingerprint: derive("fingerprint").subarray(0, 8).toString("hex"),
  };
}

/** Session settings the helper functions read (set with set_config over bind parameters). */
export const KEY_SETTINGS = { innerPad: `${SCRUB_SCHEMA}.ki`, outerPad: `${SCRUB_SCHEMA}.ko`, seed: `${SCRUB_SCHEMA}.seed` } as const;

/** The helper functions (no key in their text). */
export const HELPER_FUNCTIONS_SQL = `
CREATE OR REPLACE FUNCTION ${SCRUB_SCHEMA}.ki() RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT decode(current_setting('${KEY_SETTINGS.innerPad}'), 'hex') $$;
CREATE OR REPLACE FUNCTION ${SCRUB_SCHEMA}.ko() RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT decode(current_setting('${KEY_SETTINGS.outerPad}'), 'hex') $$;
CREATE OR REPLACE FUNCTION ${SCRUB_SCHEMA}.seed() RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT current_setting('${KEY_SETTINGS.seed}')::bigint $$;
CREATE OR REPLACE FUNCTION ${SCRUB_SCHEMA}.shift_days(max_days int) RETURNS int[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT array_agg(d ORDER BY d) FROM generate_series(-max_days, max_days) AS d WHERE d <> 0 $$;
`;

/** Word lists pseudonyms are drawn from (64 entries each, so a hash picks one with a bit mask). */
export const FIRST_NAMES = [
  "Ada", "Alan", "Alma", "Amos", "Anya", "Arlo", "Beth", "Bram", "Cara", "Cole", "Dara", "Dean", "Edda", "Emil", "Enzo", "Esme",
  "Finn", "Flor", "Gail", "Gus", "Hana", "Hugo", "Ida", "Ivo", "Jada", "Joel", "Juno", "Kai", "Kira", "Lars", "Lena", "Lior",
  "Mae", "Milo", "Mira", "Nell", "Nico", "Noor", "Odin", "Olga", "Omar", "Pia", "Quin", "Rafe", "Rhea", "Rosa", "Saul", "Sena",
  "Tara", "Teo", "Tova", "Ugo", "Una", "Vale", "Vera", "Wade", "Wren", "Xan", "Yara", "Yuri", "Zane", "Zara", "Zeke", "Zoe",
];
export const LAST_NAMES = [
  "Abbot", "Alder", "Ashby", "Baird", "Barlow", "Birch", "Blythe", "Brandt", "Carver", "Cobb", "Crane", "Dalton", "Dorsey", "Drake", "Eames", "Ellery",
  "Fenn", "Frost", "Gale", "Garrow", "Hale", "Hardy", "Hollis", "Ives", "Jarvis", "Keane", "Kestrel", "Lark", "Lowell", "Marsh", "Merritt", "Moss",
  "Nash", "Noble", "Oakes", "Orme", "Pike", "Prior", "Quill", "Reeve", "Rook", "Rowan", "Sable", "Sayer", "Shaw", "Sloane", "Stroud", "Thorne",
  "Tull", "Underhill", "Vance", "Vesey", "Wadley", "Warren", "Webb", "Whitlock", "Wilde", "Winslow", "Yardley", "Yates", "Yeoman", "Zeller", "Zorn", "Zuber",
];
export const STREETS = [
  "Acacia", "Alder", "Aspen", "Beacon", "Birch", "Bramble", "Cedar", "Chestnut", "Clover", "Copper", "Cypress", "Dale", "Elm", "Fern", "Garnet", "Hazel",
  "Heather", "Hickory", "Holly", "Iris", "Ivy", "Juniper", "Larch", "Laurel", "Lilac", "Linden", "Magnolia", "Maple", "Meadow", "Mill", "Mulberry", "Myrtle",
  "Oak", "Orchard", "Pine", "Poplar", "Quarry", "Rowan", "Sage", "Spruce", "Sycamore", "Thistle", "Tulip", "Valley", "Walnut", "Willow", "Yew", "Harbor",
  "Lake", "River", "Brook", "Ridge", "Hill", "Field", "Forest", "Garden", "Grove", "Park", "Spring", "Station", "Summit", "Sunset", "Union", "Vine",
];
export const STREET_SUFFIXES = ["Street", "Road", "Lane", "Avenue", "Way", "Close", "Drive", "Court"];
export const CITIES = [
  "Ashford", "Bexley", "Brampton", "Carlow", "Dunmore", "Elmstead", "Fairview", "Glenrock", "Harwick", "Ironbridge", "Kelby", "Lambourne", "Marlow", "Newbury", "Oakham", "Pembury",
  "Quarrington", "Redwick", "Stanmore", "Thornbury", "Upton", "Wexcombe", "Yarrow", "Alderney", "Birchwood", "Coldbrook", "Deepdale", "Eastwood", "Foxley", "Greystone", "Hollyfield", "Kingsbridge",
  "Larkhill", "Millbrook", "Northcote", "Oldcastle", "Pinewood", "Ravensworth", "Silverdale", "Tidewater", "Underwood", "Westbury", "Whitmore", "Ashgrove", "Brookfield", "Clearwater", "Dunwich", "Evergreen",
  "Fernhill", "Goldcrest", "Highcliff", "Kestrel Bay", "Lindenfield", "Moorside", "Nettlebed", "Orchard Vale", "Primrose", "Rosedale", "Stonehaven", "Thornfield", "Valewood", "Wildmoor", "Woodbury", "Yewdale",
];
export const LOREM = "lorem ipsum dolor sit amet ";
/** The masked-phone prefix: +1 555 is reserved for fiction. */
export const PHONE_PREFIX = "+1555";
/** Length of the hex part of a masked email's local part (96 bits: collisions are out of reach). */
export const EMAIL_HEX_LENGTH = 24;

/** A SQL string literal. */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A quoted SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function arrayLiteral(values: readonly string[]): string {
  return `(ARRAY[${values.map(literal).join(",")}]::text[])`;
}

const S = SCRUB_SCHEMA;

/**
 * HMAC-SHA256 (bytea) of a text expression's UTF-8 bytes. textsend() gives the bytes in the
 * session's client_encoding, which the scrub pins to UTF8: the same bytes as convert_to(v, 'UTF8')
 * at a fraction of the cost (no validation pass, no conversion lookup).
 */
export function hmacSql(textExpr: string): string {
  return `sha256(${S}.ko() || sha256(${S}.ki() || textsend(${textExpr})))`;
}

/** The first `hexChars` hex digits of the HMAC (only the bytes needed are hex-encoded). */
function hmacHexSql(textExpr: string, hexChars: number): string {
  const hex = `encode(substring(${hmacSql(textExpr)} from 1 for ${Math.ceil(hexChars / 2)}), 'hex')`;
  return hexChars % 2 === 0 ? hex : `left(${hex}, ${hexChars})`;
}

/** Keyed 64-bit hash of a text expression; `salt` separates strategies. */
function hashSql(textExpr: string, salt: number): string {
  return `hashtextextended(${textExpr}, ${S}.seed() + ${salt})`;
}

function pick(list: readonly string[], hash: string, shift: number, bits: number): string {
  const mask = (1 << bits) - 1;
  const bitsOf = shift === 0 ? `(${hash} & ${mask})` : `((${hash} >> ${shift}) & ${mask})`;
  return `${arrayLiteral(list)}[1 + ${bitsOf}]`;
}

const POWERS_OF_TWO = Array.from({ length: 31 }, (_, i) => 2 ** i);
/** Bucket bounds 1, 2, 4, … for width_bucket, and the length class of each bucket (0 for the empty string). */
const LENGTH_BOUNDS = `ARRAY[${POWERS_OF_TWO.join(",")}]::int[]`;
const LENGTH_CLASSES = `(ARRAY[0,${POWERS_OF_TWO.join(",")}]::int[])`;

/**
 * The masked value of a text expression (NULL stays NULL) for the text-producing strategies. Used
 * for columns (after ::text) and for values at JSON paths.
 */
export function maskTextSql(rule: Exclude<JsonPathRule, { strategy: "null" | "fixed" }>, v: string, emailDomain: string): string {
  switch (rule.strategy) {
    case "email":
      return `('u' || ${hmacHexSql(v, EMAIL_HEX_LENGTH)} || ${literal(`@${rule.domain ?? emailDomain}`)})`;
    case "hash":
      return hmacHexSql(v, rule.length ?? 32);
    case "name": {
      const h = hashSql(v, 1);
      const part = rule.part ?? "full";
      if (part === "first") return pick(FIRST_NAMES, h, 0, 6);
      if (part === "last") return pick(LAST_NAMES, h, 6, 6);
      return `(${pick(FIRST_NAMES, h, 0, 6)} || ' ' || ${pick(LAST_NAMES, h, 6, 6)})`;
    }
    case "phone":
      return `(${literal(PHONE_PREFIX)} || lpad(((${hashSql(v, 2)} & 16777215) % 10000000)::text, 7, '0'))`;
    case "address": {
      const h = hashSql(v, 3);
      switch (rule.part ?? "line1") {
        case "line1":
          return `((1 + (${h} & 1023))::text || ' ' || ${pick(STREETS, h, 10, 6)} || ' ' || ${pick(STREET_SUFFIXES, h, 16, 3)})`;
        case "line2":
          return `('Apt ' || (1 + (${h} & 511))::text)`;
        case "city":
          return pick(CITIES, h, 0, 6);
        case "postcode":
          return `lpad(((${h} & 1048575) % 100000)::text, 5, '0')`;
      }
      throw new Error(`unknown address part`);
    }
    case "text":
      // One length() per value (it walks the characters): its bucket indexes the class directly.
      return `rpad('', ${LENGTH_CLASSES}[1 + width_bucket(length(${v}), ${LENGTH_BOUNDS})], ${literal(LOREM)})`;
  }
  throw new Error(`no text mask for strategy ${(rule as { strategy: string }).strategy}`);
}

function jsonFixedSql(value: string | number | boolean): string {
  if (typeof value === "string") return `to_jsonb(${literal(value)}::text)`;
  if (typeof value === "number") return `to_jsonb(${literal(String(value))}::numeric)`;
  return `to_jsonb(${value ? "true" : "false"})`;
}

/** A dot-separated JSON path as the text[] that #>, #>> and jsonb_set take. */
export function jsonPathArray(path: string): string {
  return `ARRAY[${path.split(".").map(literal).join(",")}]::text[]`;
}

const INTEGER_TYPES = new Set(["int2", "int4", "int8"]);

/**
 * The SQL expression a column is rewritten to (already cast to the column's type), or undefined for
 * keep. `byColumn` is the column a `shift` rule's `by` names.
 */
export function columnMaskSql(rule: ColumnRule, column: ColumnInfo, emailDomain: string, byColumn?: ColumnInfo): string | undefined {
  const v = ident(column.name);
  const cast = (expr: string) => `(${expr})::${column.type}`;
  switch (rule.strategy) {
    case "keep":
      return undefined;
    case "null":
      return cast("NULL");
    case "fixed":
      return cast(literal(String(rule.value)));
    case "email":
    case "hash":
    case "name":
    case "phone":
    case "address":
    case "text":
      return cast(maskTextSql(rule, `${v}::text`, emailDomain));
    case "shift": {
      // The hash of the `by` column (all dates of one entity move together) or of the value itself.
      // Integer ids hash as integers, with no text conversion; a NULL id moves like an empty one.
      const by = rule.by ? byColumn : undefined;
      const hash =
        by && INTEGER_TYPES.has(by.baseType)
          ? `coalesce(hashint8extended(${ident(by.name)}::bigint, ${S}.seed() + 4), hashtextextended('', ${S}.seed() + 4))`
          : hashSql(rule.by ? `coalesce(${ident(rule.by)}::text, '')` : `${v}::text`, 4);
      const m = rule.maxDays;
      // shift_days(m) is [-m … -1, 1 … m] (folded into a constant once per statement): one hash per
      // row picks from it — never 0, so every value moves.
      const days = `(${S}.shift_days(${m}))[1 + ((${hash} & 2147483647) % ${2 * m})]`;
      const shifted = column.baseType === "date" ? `${v} + ${days}` : `${v} + make_interval(days => ${days})`;
      return rule.by ? cast(`CASE WHEN ${v} IS NULL THEN NULL ELSE ${shifted} END`) : cast(shifted);
    }
    case "json": {
      const doc = column.baseType === "json" ? `${v}::jsonb` : v;
      let expr = doc;
      for (const [path, pathRule] of Object.entries(rule.paths)) {
        const p = jsonPathArray(path);
        let value: string;
        if (pathRule.strategy === "null") value = `'null'::jsonb`;
        else if (pathRule.strategy === "fixed") value = jsonFixedSql(pathRule.value);
        // A JSON null (or a missing path) reads as SQL NULL and masks to NULL: 'return_target' keeps it.
        else value = `to_jsonb(${maskTextSql(pathRule, `(${doc} #>> ${p})`, emailDomain)})`;
        // Each level reads the original document, so the expression grows linearly with the paths.
        // create_if_missing=false: a path that is absent stays absent.
        expr = `jsonb_set_lax(${expr}, ${p}, ${value}, false, 'return_target')`;
      }
      if (column.baseType === "json") expr = `${expr}::json`;
      return cast(expr);
    }
    case "sql":
      return cast(rule.expression);
  }
}
