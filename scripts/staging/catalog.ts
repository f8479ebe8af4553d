import { ClientBase } from "pg";
import { withClient } from "../migrate/db";
import { ColumnRule, ScrubRules } from "./scrub-rules";
import type { ColumnInfo } from "./column-info";
import { EMAIL_HEX_LENGTH, PHONE_PREFIX, SCRUB_SCHEMA } from "./scrub-sql";

/**
 * What the scrub needs to know about a database: its tables and columns (the ones the rules must
 * cover), unique indexes, foreign keys and the views that depend on columns. Read from pg_catalog in
 * a handful of queries; nothing here changes the database.
 */

export { SCRUB_SCHEMA };
export type { ColumnInfo };

export interface TableInfo {
  /** "schema.table" as written in the rules. */
  readonly name: string;
  /** quote_ident'ed "schema"."table" for SQL. */
  readonly sql: string;
  readonly oid: number;
  /** r = table, p = partitioned table, m = materialized view, f = foreign table. */
  readonly kind: string;
  /** pg_class.reltuples: an estimate (-1 when never analyzed). */
  readonly estimatedRows: number;
  /**
   * Bytes on disk of the table with its indexes and TOAST (of every partition, for a partitioned
   * table): what a rewrite reads, writes and re-sorts, so the scrub's estimate of a table's work.
   */
  readonly totalBytes: number;
  readonly columns: readonly ColumnInfo[];
  /** Columns of the primary key, in order (empty when there is none). */
  readonly primaryKey: readonly string[];
  /** Whether the connected role owns the table (or is a member of its owner): needed to rewrite it. */
  readonly owned: boolean;
}

export interface UniqueIndexInfo {
  readonly table: string;
  readonly name: string;
  /** Plain columns of the index; expression parts are listed in `expressionColumns`. */
  readonly columns: readonly string[];
  /** Columns used inside index expressions or predicates. */
  readonly expressionColumns: readonly string[];
  readonly hasExpressions: boolean;
  readonly valid: boolean;
}

/**
 * An index the scrub may drop before a table's rewrite and build again after it, as a task of its
 * own (so index builds of different tables and of one table run in parallel): a plain or unique
 * index that no constraint uses and nothing else depends on, with nothing attached to it that
 * `pg_get_indexdef()` would not bring back (a comment, CLUSTER or replica-identity mark, statistics
 * target, non-default tablespace). Other indexes are rebuilt by the rewrite itself.
 */
export interface DetachableIndexInfo {
  readonly table: string;
  readonly name: string;
  /** quote_ident'ed "schema"."index". */
  readonly sql: string;
  /** pg_get_indexdef(): the CREATE [UNIQUE] INDEX statement that builds it again. */
  readonly definition: string;
  /** Bytes on disk: the scrub's estimate of the work of building it. */
  readonly bytes: number;
}

export interface ForeignKeyInfo {
  readonly name: string;
  readonly table: string;
  readonly columns: readonly string[];
  readonly referencedTable: string;
  readonly referencedColumns: readonly string[];
  /** pg_get_constraintdef(): "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE". */
  readonly definition: string;
  readonly validated: boolean;
}

export interface DependentView {
  readonly table: string;
  readonly column: string;
  readonly view: string;
}

/** Something that stops PostgreSQL from changing a column's type (so from rewriting it in place). */
export interface ColumnBlocker {
  readonly table: string;
  readonly column: string;
  /** e.g. `generated column email_domain`, `policy own_rows`, `trigger audit_email`, `the partition key`. */
  readonly what: string;
}

export interface DatabaseCatalog {
  readonly tables: ReadonlyMap<string, TableInfo>;
  readonly uniqueIndexes: readonly UniqueIndexInfo[];
  readonly foreignKeys: readonly ForeignKeyInfo[];
  readonly dependentViews: readonly DependentView[];
  readonly detachableIndexes: readonly DetachableIndexInfo[];
  readonly columnBlockers: readonly ColumnBlocker[];
}

const USER_RELATIONS = `
  c.relkind IN ('r', 'p', 'm', 'f')
  AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', '${SCRUB_SCHEMA}')
  AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

/** Reads the catalog of the database the client is connected to. */
export async function readCatalog(client: ClientBase): Promise<DatabaseCatalog> {
  const columns = await client.query<{
    table_name: string;
    table_sql: string;
    oid: number;
    relkind: string;
    reltuples: number;
    total_bytes: number;
    owned: boolean;
    column_name: string | null;
    attnum: number | null;
    type: string | null;
    base_type: string | null;
    category: string | null;
    not_null: boolean | null;
    generated: string | null;
    collation: string | null;
  }>(`
    SELECT n.nspname || '.' || c.relname AS table_name,
           quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS table_sql,
           c.oid::int AS oid, c.relkind::text AS relkind, c.reltuples::float8 AS reltuples,
           coalesce((SELECT sum(pg_total_relation_size(p.relid)) FROM pg_partition_tree(c.oid) p), pg_total_relation_size(c.oid))::float8 AS total_bytes,
           pg_has_role(c.relowner, 'USAGE') AS owned,
           a.attname AS column_name, a.attnum::int AS attnum,
           format_type(a.atttypid, a.atttypmod) AS type,
           bt.typname AS base_type, bt.typcategory::text AS category,
           a.attnotnull AS not_null, a.attgenerated::text AS generated,
           CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END AS collation
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
      LEFT JOIN pg_collation co ON co.oid = a.attcollation
      LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
     WHERE ${USER_RELATIONS}
     ORDER BY 1, a.attnum`);
  const primaryKeys = await client.query<{ oid: number; columns: string[] }>(`
    SELECT i.indrelid::int AS oid, array_agg(a.attname::text ORDER BY k.ord) AS columns
      FROM pg_index i
      CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indisprimary
     GROUP BY i.indrelid`);
  const pkByOid = new Map(primaryKeys.rows.map((r) => [r.oid, r.columns]));
  const tables = new Map<string, TableInfo & { columns: ColumnInfo[] }>();
  for (const row of columns.rows) {
    let table = tables.get(row.table_name);
    if (!table) {
      table = {
        name: row.table_name,
        sql: row.table_sql,
        oid: row.oid,
        kind: row.relkind,
        estimatedRows: row.reltuples,
        totalBytes: row.total_bytes,
        columns: [],
        primaryKey: pkByOid.get(row.oid) ?? [],
        owned: row.owned,
      };
      tables.set(row.table_name, table);
    }
    if (row.column_name !== null) {
      table.columns.push({
        name: row.column_name,
        attnum: row.attnum as number,
        type: row.type as string,
        baseType: row.base_type as string,
        category: row.category as string,
        notNull: Boolean(row.not_null),
        generated: row.generated ?? "",
        collation: row.collation ?? undefined,
      });
    }
  }
  const uniques = await client.query<{ table_name: string; name: string; columns: (string | null)[]; expr_columns: string[] | null; has_expressions: boolean; valid: boolean }>(`
    SELECT n.nspname || '.' || c.relname AS table_name, ic.relname AS name,
           (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
              LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS columns,
           (SELECT array_agg(DISTINCT a.attname::text) FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid AND d.refclassid = 'pg_class'::regclass
               AND d.refobjid = i.indrelid AND d.refobjsubid > 0) AS expr_columns,
           (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL) AS has_expressions, i.indisvalid AS valid
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indrelid
      JOIN pg_class ic ON ic.oid = i.indexrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE i.indisunique AND ${USER_RELATIONS}
     ORDER BY 1, 2`);
  const fks = await client.query<{ name: string; table_name: string; columns: string[]; referenced_table: string; referenced_columns: string[]; definition: string; validated: boolean }>(`
    SELECT con.conname AS name,
           n.nspname || '.' || c.relname AS table_name,
           (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS columns,
           rn.nspname || '.' || rc.relname AS referenced_table,
           (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS referenced_columns,
           pg_get_constraintdef(con.oid) AS definition, con.convalidated AS validated
      FROM pg_constraint con
      JOIN pg_class c ON c.oid = con.conrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_class rc ON rc.oid = con.confrelid
      JOIN pg_namespace rn ON rn.oid = rc.relnamespace
     WHERE con.contype = 'f' AND con.conparentid = 0 AND ${USER_RELATIONS}
     ORDER BY 2, 1`);
  const views = await client.query<{ table_name: string; column_name: string; view: string }>(`
    SELECT DISTINCT n.nspname || '.' || c.relname AS table_name, a.attname AS column_name,
           vn.nspname || '.' || v.relname AS view
      FROM pg_depend d
      JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
      JOIN pg_class v ON v.oid = r.ev_class
      JOIN pg_namespace vn ON vn.oid = v.relnamespace
      JOIN pg_class c ON c.oid = d.refobjid AND d.refclassid = 'pg_class'::regclass
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
     WHERE v.oid <> c.oid AND ${USER_RELATIONS}
     ORDER BY 1, 2, 3`);
  const detachable = await client.query<{ table_name: string; name: string; index_sql: string; definition: string; bytes: number }>(`
    SELECT n.nspname || '.' || c.relname AS table_name, ic.relname AS name,
           quote_ident(n.nspname) || '.' || quote_ident(ic.relname) AS index_sql,
           pg_get_indexdef(i.indexrelid) AS definition, pg_relation_size(i.indexrelid)::float8 AS bytes
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_class ic ON ic.oid = i.indexrelid
     WHERE c.relkind = 'r' AND ${USER_RELATIONS}
       AND i.indisvalid AND i.indisready AND i.indislive AND NOT i.indisclustered AND NOT i.indisreplident AND NOT i.indisexclusion
       AND ic.reltablespace = 0
       AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indexrelid)
       AND NOT EXISTS (SELECT 1 FROM pg_description d WHERE d.classoid = 'pg_class'::regclass AND d.objoid = i.indexrelid)
       AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indexrelid AND coalesce(a.attstattarget, -1) >= 0)
     ORDER BY 1, 2`);
  const blockers = await client.query<{ table_name: string; column_name: string; what: string }>(`
    SELECT n.nspname || '.' || c.relname AS table_name, a.attname AS column_name, b.what
      FROM (
        SELECT d.refobjid AS relid, d.refobjsubid AS attnum, 'generated column ' || g.attname AS what
          FROM pg_depend d JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
          JOIN pg_attribute g ON g.attrelid = ad.adrelid AND g.attnum = ad.adnum AND g.attgenerated <> ''
         WHERE d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.refobjsubid <> ad.adnum
        UNION
        SELECT d.refobjid, d.refobjsubid, 'policy ' || p.polname
          FROM pg_depend d JOIN pg_policy p ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
         WHERE d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
        UNION
        SELECT d.refobjid, d.refobjsubid, 'trigger ' || t.tgname
          FROM pg_depend d JOIN pg_trigger t ON d.classid = 'pg_trigger'::regclass AND d.objid = t.oid
         WHERE d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
        UNION
        SELECT pt.partrelid, k.attnum, 'the partition key'
          FROM pg_partitioned_table pt CROSS JOIN LATERAL unnest(pt.partattrs::int2[]) AS k(attnum) WHERE k.attnum > 0
      ) b
      JOIN pg_class c ON c.oid = b.relid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = b.relid AND a.attnum = b.attnum
     WHERE ${USER_RELATIONS}
     ORDER BY 1, 2, 3`);
  return {
    tables,
    columnBlockers: blockers.rows.map((r) => ({ table: r.table_name, column: r.column_name, what: r.what })),
    detachableIndexes: detachable.rows.map((r) => ({ table: r.table_name, name: r.name, sql: r.index_sql, definition: r.definition, bytes: r.bytes })),
    uniqueIndexes: uniques.rows.map((r) => ({
      table: r.table_name,
      name: r.name,
      columns: r.columns.filter((c): c is string => c !== null),
      expressionColumns: r.expr_columns ?? [],
      hasExpressions: r.has_expressions || r.columns.some((c) => c === null),
      valid: r.valid,
    })),
    foreignKeys: fks.rows.map((r) => ({
      name: r.name,
      table: r.table_name,
      columns: r.columns,
      referencedTable: r.referenced_table,
      referencedColumns: r.referenced_columns,
      definition: r.definition,
      validated: r.validated,
    })),
    dependentViews: views.rows.map((r) => ({ table: r.table_name, column: r.column_name, view: r.view })),
  };
}

/** Connects, reads the catalog, disconnects. */
export function readCatalogAt(databaseUrl: string): Promise<DatabaseCatalog> {
  return withClient(databaseUrl, readCatalog);
}

/**
 * " TABLESAMPLE SYSTEM (p)" reading about 20 × `size` of a table's `rows` rows, or "" when that is the
 * whole table: a random sample of a big table without reading or sorting all of it.
 */
export function tableSampleClause(rows: number, size: number): string {
  const percent = rows > size * 20 ? Math.min(100, (100 * size * 20) / rows) : 100;
  return percent < 100 ? ` TABLESAMPLE SYSTEM (${percent.toFixed(4)})` : "";
}

const TEXT_STRATEGIES = new Set(["email", "name", "phone", "address", "text", "hash"]);
const SHIFT_TYPES = new Set(["date", "timestamp", "timestamptz"]);
/** Strategies that can map two different values to the same output. */
const REPEATING = new Set(["fixed", "name", "phone", "address", "text", "shift", "json"]);

/** The longest value email, hash and phone write (their length matters: cut, they lose shape and uniqueness). */
function uniqueMaskLength(rule: ColumnRule, emailDomain: string): number | undefined {
  if (rule.strategy === "email") return 1 + EMAIL_HEX_LENGTH + 1 + (rule.domain ?? emailDomain).length;
  if (rule.strategy === "hash") return rule.length ?? 32;
  if (rule.strategy === "phone") return PHONE_PREFIX.length + 7;
  return undefined;
}

/** True when a column's rule changes its values. */
export function isMasked(rule: ColumnRule | undefined): boolean {
  return rule !== undefined && rule.strategy !== "keep";
}

/** Rules of a table as a map (empty for truncated or unlisted tables). */
export function columnRules(rules: ScrubRules, table: string): Readonly<Record<string, ColumnRule>> {
  const t = rules.tables[table];
  return t && !t.truncate ? t.columns : {};
}

export function isTruncated(rules: ScrubRules, table: string): boolean {
  return rules.tables[table]?.truncate === true;
}

/** True when the scrub changes the table: it is truncated, or at least one of its columns is masked. */
export function isChangedByScrub(rules: ScrubRules, table: string): boolean {
  return isTruncated(rules, table) || Object.values(columnRules(rules, table)).some(isMasked);
}

/** One row of friday_scrub.state: a table a scrub finished, with the rules and key it used. */
export interface ScrubStateRow {
  readonly action: string;
  readonly rulesDigest: string;
  readonly keyFingerprint: string;
  readonly rows: number;
}

/** The scrub's record of finished tables ("schema.table" → row), or undefined when no scrub ever ran here. */
export async function readScrubState(client: ClientBase): Promise<Map<string, ScrubStateRow> | undefined> {
  const present = (await client.query(`SELECT to_regclass('${SCRUB_SCHEMA}.state') IS NOT NULL AS present`)).rows[0].present as boolean;
  if (!present) return undefined;
  const { rows } = await client.query(`SELECT table_name, action, rules_digest, key_fingerprint, rows FROM ${SCRUB_SCHEMA}.state`);
  return new Map(rows.map((r) => [r.table_name as string, { action: r.action, rulesDigest: r.rules_digest, keyFingerprint: r.key_fingerprint, rows: Number(r.rows) }]));
}

function sameRule(a: ColumnRule | undefined, b: ColumnRule | undefined): boolean {
  return JSON.stringify(a ?? { strategy: "keep" }) === JSON.stringify(b ?? { strategy: "keep" });
}

/**
 * Checks the rules against the database, before anything changes: every table and column covered
 * (fail closed), no rule for something that does not exist, each strategy fits its column's type,
 * unique indexes and foreign keys can still hold after masking, no view stands in the way.
 * Returns one line per problem, naming the table/column and the fix (empty when all is well).
 * `coverageOnly` skips the checks about what the scrub would do (for verify, after the scrub).
 */
export function checkRulesAgainstCatalog(rules: ScrubRules, catalog: DatabaseCatalog, options: { coverageOnly?: boolean } = {}): string[] {
  const problems: string[] = [];
  for (const table of catalog.tables.values()) {
    const tableRules = rules.tables[table.name];
    if (!tableRules) {
      problems.push(
        `table ${table.name} is not in the rules (${rules.source}): add it under tables: with each of its columns (${table.columns.map((c) => c.name).join(", ")}) classified, or as "${table.name}: truncate"`,
      );
      continue;
    }
    if (table.kind === "m" || table.kind === "f") {
      const what = table.kind === "m" ? "materialized view" : "foreign table";
      problems.push(`${table.name} is a ${what}: the scrub cannot rewrite it; drop it before the scrub (and recreate it after), then remove it from the rules`);
      continue;
    }
    if (tableRules.truncate) continue;
    for (const column of table.columns) {
      const rule = tableRules.columns[column.name];
      if (!rule) {
        problems.push(`column ${table.name}.${column.name} (${column.type}) is not classified: add "${column.name}: keep" or a masking strategy under ${table.name}`);
        continue;
      }
      const where = `${table.name}.${column.name} (${column.type})`;
      if (column.generated && rule.strategy !== "keep") {
        problems.push(`${where} is a generated column: classify it as keep (it is recomputed from the columns it is made of)`);
      } else if (TEXT_STRATEGIES.has(rule.strategy) && column.category !== "S") {
        problems.push(`${where}: ${rule.strategy} makes text but the column is ${column.baseType}: use fixed, null, sql or keep`);
      } else if (rule.strategy === "shift" && !SHIFT_TYPES.has(column.baseType)) {
        problems.push(`${where}: shift works on date, timestamp and timestamptz columns: use fixed, null, sql or keep`);
      } else if (rule.strategy === "json" && column.baseType !== "json" && column.baseType !== "jsonb") {
        problems.push(`${where}: json masks paths inside json/jsonb columns: use another strategy for ${column.baseType}`);
      } else if (rule.strategy === "null" && column.notNull) {
        problems.push(`${where} is NOT NULL: use fixed (e.g. { strategy: fixed, value: "" }) instead of null`);
      } else {
        // A cast to varchar(n)/char(n) cuts what does not fit: harmless for a name, but a cut email,
        // hash or phone loses its shape and may collide under a unique index.
        const limit = /^(character varying|character)\((\d+)\)$/.exec(column.type);
        const longest = limit ? uniqueMaskLength(rule, rules.emailDomain) : undefined;
        if (limit && longest !== undefined && longest > Number(limit[2])) {
          problems.push(`${where}: ${rule.strategy} writes up to ${longest} characters and the column holds ${limit[2]}: ${rule.strategy === "hash" ? "set a shorter length" : rule.strategy === "email" ? "use a shorter domain" : "widen the column"} (values would be cut)`);
        }
      }
    }
    for (const column of Object.keys(tableRules.columns)) {
      if (!table.columns.some((c) => c.name === column)) {
        problems.push(`${table.name}.${column} is in the rules but not in the database: remove it from ${rules.source} (or fix its name)`);
      }
    }
  }
  for (const name of Object.keys(rules.tables)) {
    if (!catalog.tables.has(name)) problems.push(`table ${name} is in the rules but not in the database: remove it from ${rules.source} (or fix its name)`);
  }
  if (options.coverageOnly) return problems;
  for (const table of catalog.tables.values()) {
    if (isChangedByScrub(rules, table.name) && !table.owned) {
      problems.push(`${table.name} is owned by another role: the scrub rewrites tables, so connect as their owner (on RDS, the role that ran the migrations, or a role granted it)`);
    }
  }
  for (const index of catalog.uniqueIndexes) {
    if (isTruncated(rules, index.table)) continue;
    const rulesOf = columnRules(rules, index.table);
    for (const column of new Set([...index.columns, ...index.expressionColumns])) {
      const rule = rulesOf[column];
      if (rule && REPEATING.has(rule.strategy)) {
        problems.push(
          `${index.table}.${column}: ${rule.strategy} can give two rows the same value but unique index ${index.name} covers the column: use email or hash (distinct inputs stay distinct) or keep`,
        );
      }
    }
  }
  for (const fk of catalog.foreignKeys) {
    const childTruncated = isTruncated(rules, fk.table);
    if (isTruncated(rules, fk.referencedTable) && !childTruncated) {
      problems.push(`${fk.referencedTable} is truncated but ${fk.table} references it (foreign key ${fk.name}): truncate ${fk.table} too, or keep and mask ${fk.referencedTable}`);
      continue;
    }
    if (childTruncated) continue;
    fk.columns.forEach((column, i) => {
      const childRule = columnRules(rules, fk.table)[column];
      const parentRule = columnRules(rules, fk.referencedTable)[fk.referencedColumns[i]];
      if ((isMasked(childRule) || isMasked(parentRule)) && !sameRule(childRule, parentRule)) {
        problems.push(
          `foreign key ${fk.name}: ${fk.table}.${column} and ${fk.referencedTable}.${fk.referencedColumns[i]} must have the same rule so references still match after masking (got ${childRule?.strategy ?? "none"} and ${parentRule?.strategy ?? "none"})`,
        );
      } else if (isMasked(childRule) && childRule && !["email", "hash"].includes(childRule.strategy)) {
        problems.push(`foreign key ${fk.name}: ${fk.table}.${column} uses ${childRule.strategy}, which can merge distinct keys: use email or hash (or keep) on both sides`);
      }
    });
  }
  for (const blocker of catalog.columnBlockers) {
    if (isMasked(columnRules(rules, blocker.table)[blocker.column])) {
      const fix = blocker.what === "the partition key" ? "keep it" : `drop ${blocker.what} before the scrub and recreate it after, or keep the column`;
      problems.push(`${blocker.table}.${blocker.column} is masked but ${blocker.what} uses it: PostgreSQL cannot rewrite it in place; ${fix}`);
    }
  }
  for (const dep of catalog.dependentViews) {
    if (isMasked(columnRules(rules, dep.table)[dep.column])) {
      problems.push(`view ${dep.view} uses ${dep.table}.${dep.column}, which is masked: PostgreSQL cannot rewrite a column a view uses; drop the view before the scrub and recreate it after`);
    }
  }
  return problems;
}
