/**
 * A small, dependency-free SQL reader for migration files: splits a file into statements (respecting
 * quotes, dollar quotes and comments), and recognises the handful of statement shapes the runner and
 * the linter need to reason about (which table a statement touches, whether it can run inside a
 * transaction). It is not a SQL parser; squawk (a real one) does the general linting.
 */

/** One statement of a migration file. */
export interface SqlStatement {
  /** The statement text, without the trailing semicolon, comments kept. */
  readonly text: string;
  /** 1-based line of the statement's first non-blank, non-comment character. */
  readonly line: number;
  /** 1-based line of the statement's last character. */
  readonly endLine: number;
}

/** Splits SQL into statements. Comments and blank-only chunks are dropped. */
export function splitStatements(sql: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let start = 0;
  let i = 0;
  const n = sql.length;
  const push = (end: number) => {
    const raw = sql.slice(start, end);
    const code = stripComments(raw).trim();
    if (code.length > 0) {
      const lead = firstCodeOffset(raw);
      const line = lineAt(sql, start + lead);
      const text = raw.slice(lead).trimEnd();
      statements.push({ text, line, endLine: lineAt(sql, start + lead + text.length - 1) });
    }
  };
  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === "-" && next === "-") {
      const eol = sql.indexOf("\n", i);
      i = eol === -1 ? n : eol + 1;
    } else if (c === "/" && next === "*") {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === "/" && sql[i + 1] === "*") {
          depth++;
          i += 2;
        } else if (sql[i] === "*" && sql[i + 1] === "/") {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (c === "'" || c === '"') {
      i++;
      while (i < n) {
        if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) {
          i++;
          break;
        } else i++;
      }
    } else if (c === "$") {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
      if (m && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? "")) {
        const tag = m[0];
        const close = sql.indexOf(tag, i + tag.length);
        i = close === -1 ? n : close + tag.length;
      } else i++;
    } else if (c === ";") {
      push(i);
      i++;
      start = i;
    } else i++;
  }
  push(n);
  return statements;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let k = 0; k < offset && k < text.length; k++) if (text[k] === "\n") line++;
  return line;
}

function firstCodeOffset(raw: string): number {
  let i = 0;
  while (i < raw.length) {
    if (/\s/.test(raw[i])) i++;
    else if (raw.startsWith("--", i)) {
      const eol = raw.indexOf("\n", i);
      i = eol === -1 ? raw.length : eol + 1;
    } else if (raw.startsWith("/*", i)) {
      const close = raw.indexOf("*/", i + 2);
      i = close === -1 ? raw.length : close + 2;
    } else break;
  }
  return i;
}

/** Removes comments (keeps string literals intact) and collapses whitespace. */
export function stripComments(sql: string): string {
  let out = "";
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "-" && sql[i + 1] === "-") {
      const eol = sql.indexOf("\n", i);
      i = eol === -1 ? sql.length : eol;
    } else if (c === "/" && sql[i + 1] === "*") {
      const close = sql.indexOf("*/", i + 2);
      i = close === -1 ? sql.length : close + 2;
      out += " ";
    } else if (c === "'") {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === "'" && sql[j + 1] !== "'")) j += sql[j] === "'" ? 2 : 1;
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Normalised, single-spaced code of a statement (comments removed, string literals blanked). */
export function normalise(text: string): string {
  return stripComments(text)
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/\s+/g, " ")
    .trim();
}

/** Regex source of one identifier, quoted or plain. */
export const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
/** Regex source of an identifier with an optional schema. */
export const QUALIFIED = String.raw`(?:${IDENT}\s*\.\s*)?${IDENT}`;

/** Unquotes and lower-cases an identifier, dropping the schema (`public."Users"` → `Users`, `Orders` → `orders`). */
export function unqualify(name: string): string {
  const parts = name.split(/\s*\.\s*(?=(?:[^"]*"[^"]*")*[^"]*$)/);
  const last = parts[parts.length - 1].trim();
  return last.startsWith('"') ? last.slice(1, -1).replace(/""/g, '"') : last.toLowerCase();
}

/** What the runner and linter need to know about one statement. */
export interface StatementInfo {
  /** Upper-cased leading keywords, e.g. "ALTER TABLE", "CREATE INDEX", "UPDATE". */
  readonly kind: string;
  /** Tables the statement locks (target first; for a foreign key, also the referenced table). */
  readonly tables: string[];
  /** True when PostgreSQL refuses to run the statement inside a transaction block. */
  readonly nonTransactional: boolean;
  /** For CREATE INDEX CONCURRENTLY: the index name (needed to clean up an invalid index before a retry). */
  readonly concurrentIndexName?: string;
  /** True for SET/RESET/BEGIN/COMMIT statements the runner manages itself. */
  readonly sessionControl: boolean;
}

/** Classifies a statement. */
export function describeStatement(text: string): StatementInfo {
  const sql = normalise(text);
  const upper = sql.toUpperCase();
  const kind = upper.split(" ").slice(0, 2).join(" ");
  const tables: string[] = [];
  const add = (name: string | undefined) => {
    if (!name) return;
    const t = unqualify(name);
    if (!tables.includes(t)) tables.push(t);
  };
  let m: RegExpExecArray | null;
  if ((m = new RegExp(String.raw`^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?(${QUALIFIED})`, "i").exec(sql))) add(m[1]);
  if ((m = new RegExp(String.raw`^CREATE (?:UNIQUE )?INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?(?:${QUALIFIED} )?ON (?:ONLY )?(${QUALIFIED})`, "i").exec(sql))) add(m[1]);
  if ((m = new RegExp(String.raw`^UPDATE (?:ONLY )?(${QUALIFIED})`, "i").exec(sql))) add(m[1]);
  if ((m = new RegExp(String.raw`^DELETE FROM (?:ONLY )?(${QUALIFIED})`, "i").exec(sql))) add(m[1]);
  if ((m = new RegExp(String.raw`^INSERT INTO (${QUALIFIED})`, "i").exec(sql))) add(m[1]);
  if ((m = new RegExp(String.raw`^TRUNCATE (?:TABLE )?(?:ONLY )?(${QUALIFIED})`, "i").exec(sql))) add(m[1]);
  if ((m = new RegExp(String.raw`^DROP TABLE (?:IF EXISTS )?(${QUALIFIED})`, "i").exec(sql))) add(m[1]);
  if ((m = new RegExp(String.raw`^(?:CREATE|DROP) TRIGGER .*? ON (${QUALIFIED})`, "i").exec(sql))) add(m[1]);
  if ((m = new RegExp(String.raw`^(?:VACUUM|ANALYZE|CLUSTER|REINDEX TABLE)(?: \([^)]*\))? (?:CONCURRENTLY )?(${QUALIFIED})`, "i").exec(sql))) add(m[1]);
  if (/^DO\b/i.test(sql)) {
    const inner = new RegExp(String.raw`\b(?:UPDATE|INSERT INTO|DELETE FROM)\s+(?:ONLY\s+)?(${QUALIFIED})`, "gi");
    while ((m = inner.exec(sql))) add(m[1]);
  }
  const references = new RegExp(String.raw`\bREFERENCES (${QUALIFIED})`, "gi");
  if (/^ALTER TABLE/i.test(sql)) while ((m = references.exec(sql))) add(m[1]);
  const nonTransactional =
    /^(CREATE (UNIQUE )?INDEX CONCURRENTLY|DROP INDEX CONCURRENTLY|REINDEX .*CONCURRENTLY|VACUUM|ALTER SYSTEM|CREATE DATABASE|DROP DATABASE)\b/i.test(sql) ||
    /^ALTER TYPE .* ADD VALUE/i.test(sql) ||
    /\bDETACH PARTITION .* CONCURRENTLY\b/i.test(sql);
  const cic = new RegExp(String.raw`^CREATE (?:UNIQUE )?INDEX CONCURRENTLY (?:IF NOT EXISTS )?(${QUALIFIED}) ON`, "i").exec(sql);
  const sessionControl = /^(SET|RESET|BEGIN|COMMIT|START TRANSACTION|ROLLBACK|END)\b/i.test(sql);
  return { kind, tables, nonTransactional, concurrentIndexName: cic ? unqualify(cic[1]) : undefined, sessionControl };
}

/** Tables a statement creates (CREATE TABLE name). */
export function createdTable(text: string): string | undefined {
  const m = new RegExp(String.raw`^CREATE (?:UNLOGGED )?TABLE (?:IF NOT EXISTS )?(${QUALIFIED})`, "i").exec(normalise(text));
  return m ? unqualify(m[1]) : undefined;
}

/** Quotes an identifier for SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
