import { Client } from "pg";
import { ColumnInfo, readCatalog, TableInfo, tableSampleClause } from "./catalog";
import { ident } from "./scrub-sql";

/**
 * `friday staging rules --suggest`: a starting rules file for a human to review. Every column of
 * every table gets a line with its likely class, judged by its name and by a sample of its values
 * (emails, phone numbers, JSON keys), and a comment saying why. Nothing is written to the database.
 */

export interface SuggestOptions {
  readonly databaseUrl: string;
  /** Values sampled per column. @default 200 */
  readonly sampleSize?: number;
}

interface Suggestion {
  /** The YAML value: a word or a flow mapping. */
  readonly rule: string;
  readonly why: string;
}

const EMAIL_VALUE = /^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i;
const PHONE_VALUE = /^\+?[\d\s().-]{7,20}$/;

const BY_NAME: { pattern: RegExp; suggest: (c: ColumnInfo) => Suggestion }[] = [
  { pattern: /(^|_)e?mail(_address)?$|^email/, suggest: () => ({ rule: "email", why: "name says email" }) },
  { pattern: /(^|_)(phone|mobile|tel|telephone|fax|msisdn)(_number)?$/, suggest: () => ({ rule: "phone", why: "name says phone" }) },
  { pattern: /(^|_)(first_name|given_name|forename)$/, suggest: () => ({ rule: "{ strategy: name, part: first }", why: "name says first name" }) },
  { pattern: /(^|_)(last_name|surname|family_name)$/, suggest: () => ({ rule: "{ strategy: name, part: last }", why: "name says last name" }) },
  { pattern: /(^|_)(full_name|display_name|recipient_name|billing_name|shipping_name|contact_name|customer_name|cardholder_name|name)$/, suggest: () => ({ rule: "name", why: "name says a person's name (review: could be a product name)" }) },
  { pattern: /(^|_)(address_line_?2|line_?2|apartment|apt|suite)$/, suggest: () => ({ rule: "{ strategy: address, part: line2 }", why: "name says address line 2" }) },
  { pattern: /(^|_)(address|street|address_line_?1|line_?1)$/, suggest: () => ({ rule: "address", why: "name says street address" }) },
  { pattern: /(^|_)(city|town)$/, suggest: () => ({ rule: "{ strategy: address, part: city }", why: "name says city" }) },
  { pattern: /(^|_)(zip|zip_code|postcode|postal_code)$/, suggest: () => ({ rule: "{ strategy: address, part: postcode }", why: "name says postcode" }) },
  {
    pattern: /(^|_)(password|passwd|password_hash|secret|token|api_key|salt|otp|totp_secret|recovery_codes?)$/,
    suggest: (c) => (c.notNull ? { rule: `{ strategy: fixed, value: "!" }`, why: "name says credential" } : { rule: `"null"`, why: "name says credential" }),
  },
  { pattern: /(^|_)(ssn|tax_id|national_id|passport(_number)?|iban|account_number|card_number|pan|driver_license)$/, suggest: () => ({ rule: "hash", why: "name says an identifier of a person" }) },
  { pattern: /(^|_)(card_last4|last4|last_four)$/, suggest: () => ({ rule: `{ strategy: fixed, value: "0000" }`, why: "name says card digits" }) },
  {
    pattern: /(^|_)(ip|ip_address|client_ip|remote_addr|user_agent)$/,
    suggest: (c) => (c.notNull ? { rule: `{ strategy: fixed, value: "${c.baseType === "inet" ? "192.0.2.1" : "redacted"}" }`, why: "name says network identity" } : { rule: `"null"`, why: "name says network identity" }),
  },
  { pattern: /(^|_)(birth|birthday|birth_date|date_of_birth|dob|born_on)$/, suggest: () => ({ rule: "{ strategy: shift, maxDays: 365 }", why: "name says date of birth" }) },
  { pattern: /(^|_)(notes?|comments?|description|bio|about|message|body|content|free_text|remarks|instructions)$/, suggest: () => ({ rule: "text", why: "name says free text" }) },
];

const KEEP_NAME = /^(id|uuid)$|_id$|_at$|_on$|^(status|state|kind|type|currency|country|country_code|locale|amount|amount_cents|total|total_cents|price|quantity|count|version|created|updated|deleted|enabled|active|provider|action|entity)$/;

const JSON_KEY_RULES: { pattern: RegExp; rule: string }[] = [
  { pattern: /e?mail/i, rule: "email" },
  { pattern: /phone|mobile|tel$/i, rule: "phone" },
  { pattern: /(^|_)(first_?name|given_?name)$/i, rule: "{ strategy: name, part: first }" },
  { pattern: /(^|_)(last_?name|surname|family_?name)$/i, rule: "{ strategy: name, part: last }" },
  { pattern: /(^|_)(full_?name|name|display_?name)$/i, rule: "name" },
  { pattern: /(^|_)(address|street|line1)$/i, rule: "address" },
  { pattern: /(^|_)ip(_?address)?$|user_?agent/i, rule: `"null"` },
  { pattern: /password|secret|token/i, rule: `"null"` },
];

function yamlKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key) ? key : JSON.stringify(key);
}

/** Leaf paths (dot-joined) of JSON values, arrays indexed by position up to 3 deep. */
function leafPaths(value: unknown, prefix: string[] = [], out = new Set<string>()): Set<string> {
  if (value && typeof value === "object") {
    const entries = Array.isArray(value) ? value.slice(0, 3).map((v, i) => [String(i), v] as const) : Object.entries(value);
    for (const [k, v] of entries) leafPaths(v, [...prefix, k], out);
  } else if (prefix.length && !prefix.some((p) => p.includes("."))) out.add(prefix.join("."));
  return out;
}

function suggestJson(samples: unknown[]): Suggestion {
  const paths = new Set<string>();
  for (const s of samples) leafPaths(s, [], paths);
  const masked: string[] = [];
  for (const path of [...paths].sort()) {
    const last = path.split(".").filter((p) => !/^\d+$/.test(p)).pop() ?? "";
    const match = JSON_KEY_RULES.find((r) => r.pattern.test(last));
    if (match) masked.push(`${yamlKey(path)}: ${match.rule}`);
  }
  if (!masked.length) return { rule: "keep", why: `review: sampled JSON keys (${[...paths].slice(0, 8).join(", ") || "none"}) look impersonal` };
  return { rule: `{ strategy: json, paths: { ${masked.join(", ")} } }`, why: `personal keys found in sampled documents (also seen: ${[...paths].slice(0, 6).join(", ")})` };
}

function suggestColumn(table: TableInfo, column: ColumnInfo, samples: unknown[]): Suggestion {
  const name = column.name.toLowerCase();
  if (column.generated) return { rule: "keep", why: "generated column (recomputed)" };
  if (column.baseType === "json" || column.baseType === "jsonb") return suggestJson(samples.map((s) => (typeof s === "string" ? JSON.parse(s) : s)));
  const textual = column.category === "S";
  const strings = samples.filter((s): s is string => typeof s === "string" && s.length > 0);
  if (textual && strings.length >= 3) {
    const emails = strings.filter((s) => EMAIL_VALUE.test(s)).length / strings.length;
    if (emails >= 0.5) return { rule: "email", why: `${Math.round(emails * 100)}% of sampled values are emails` };
  }
  for (const { pattern, suggest } of BY_NAME) {
    if (!pattern.test(name)) continue;
    const s = suggest(column);
    const fits =
      ["email", "phone", "name", "address", "text", "hash"].some((w) => s.rule === w || s.rule.includes(`strategy: ${w}`)) ? textual : s.rule.includes("shift") ? ["date", "timestamp", "timestamptz"].includes(column.baseType) : true;
    if (fits) return s;
  }
  if (textual && strings.length >= 3) {
    const phones = strings.filter((s) => PHONE_VALUE.test(s) && /\d{6,}/.test(s.replace(/\D/g, ""))).length / strings.length;
    if (phones >= 0.8 && !KEEP_NAME.test(name)) return { rule: "phone", why: `${Math.round(phones * 100)}% of sampled values look like phone numbers` };
  }
  if (KEEP_NAME.test(name) || table.primaryKey.includes(column.name)) return { rule: "keep", why: "key, timestamp or code" };
  if (!textual && column.category !== "U") return { rule: "keep", why: `${column.baseType}: review` };
  return { rule: "keep", why: "review: no personal data recognised" };
}

/** A starting rules file (YAML text) for the database, every column classified, with reasons. */
export async function suggestRules(options: SuggestOptions): Promise<string> {
  const size = options.sampleSize ?? 200;
  const client = new Client({ connectionString: options.databaseUrl, application_name: "friday-suggest" });
  await client.connect();
  try {
    const catalog = await readCatalog(client);
    const lines = [
      "# Scrub rules suggested by `friday staging rules --suggest`: REVIEW EVERY LINE before use.",
      "# Each column is classified by its name and a sample of its values; \"keep\" means the value",
      "# reaches staging as it is. Strategies: keep, null, fixed, email, name, phone, address, text,",
      "# hash, shift, json, sql; a table can be `truncate`. See docs/scrub-rules.md.",
      "version: 1",
      "emailDomain: scrubbed.invalid",
      "tables:",
    ];
    for (const table of catalog.tables.values()) {
      if (table.kind === "m" || table.kind === "f") {
        lines.push(`  # ${table.name}: ${table.kind === "m" ? "materialized view" : "foreign table"}; drop it before the scrub (the scrub cannot rewrite it)`);
        continue;
      }
      const tableName = table.name.startsWith("public.") ? table.name.slice("public.".length) : table.name;
      const sampled = table.columns.filter((c) => c.category === "S" || c.baseType === "json" || c.baseType === "jsonb");
      let samples: Record<string, unknown>[] = [];
      if (sampled.length && table.kind === "r") {
        const sample = tableSampleClause(table.estimatedRows, size);
        samples = (await client.query(`SELECT ${sampled.map((c) => `${ident(c.name)}::text AS ${ident(c.name)}`).join(", ")} FROM ${table.sql}${sample} LIMIT ${size}`)).rows;
      }
      const hint = /(^|_)(sessions?|tokens?|audit|logs?|events?|otp|password_resets?)$/.test(table.name.split(".")[1]) ? "  # consider truncate if staging does not need these rows" : "";
      lines.push(`  ${yamlKey(tableName)}:${hint}`);
      for (const column of table.columns) {
        const values = samples.map((r) => r[column.name]).filter((v) => v !== null && v !== undefined);
        const s = suggestColumn(table, column, values);
        lines.push(`    ${yamlKey(column.name)}: ${s.rule}  # ${column.type}; ${s.why}`);
      }
    }
    return `${lines.join("\n")}\n`;
  } finally {
    await client.end();
  }
}
