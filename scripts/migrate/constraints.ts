import { IDENT, normalise, QUALIFIED, unqualify } from "./sql";

/**
 * What one ALTER TABLE adds in the way of constraints, read from the statement's shape: enough for the
 * linter to tell each lock-taking ADD CONSTRAINT form from its safe rewrite. Not a SQL parser (squawk
 * is one); this reads the forms PostgreSQL documents for ALTER TABLE ... ADD.
 */
export interface AddedConstraint {
  readonly kind: "foreign-key" | "check" | "unique" | "primary-key" | "exclude";
  /** The action's text (normalised), e.g. `ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id) NOT VALID`. */
  readonly action: string;
  readonly notValid: boolean;
  /** `... UNIQUE | PRIMARY KEY USING INDEX <name>`: the index it adopts. */
  readonly usingIndex?: string;
  /** Set when the constraint is part of an ADD COLUMN (a column constraint): the new column's name. */
  readonly newColumn?: string;
  /** For a column constraint: whether the new column gets a DEFAULT (then existing rows are not all NULL). */
  readonly newColumnHasDefault: boolean;
}

/** Splits text at commas outside parentheses (string literals are already blanked by `normalise`). */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter((p) => p.length > 0);
}

const ALTER_TABLE = new RegExp(String.raw`^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?${QUALIFIED} `, "i");

/** The actions of an ALTER TABLE (`ADD COLUMN a int, ADD CONSTRAINT …`), or [] for any other statement. */
export function alterTableActions(text: string): string[] {
  // One statement: up to its semicolon, if the text carries one (string literals are blanked by normalise).
  const sql = normalise(text).split(";")[0].trim();
  const head = ALTER_TABLE.exec(sql);
  return head ? splitTopLevel(sql.slice(head[0].length)) : [];
}

/** The constraints an ALTER TABLE statement adds, one entry per constraint. */
export function addedConstraints(text: string): AddedConstraint[] {
  const found: AddedConstraint[] = [];
  for (const action of alterTableActions(text)) {
    const upper = action.toUpperCase();
    if (!/^ADD\b/.test(upper)) continue;
    const notValid = /\bNOT VALID$/.test(upper);
    const column = new RegExp(String.raw`^ADD (?:COLUMN )?(?:IF NOT EXISTS )?(${IDENT}) `, "i").exec(action);
    const isColumn = /^ADD COLUMN\b/.test(upper) || (column !== null && !/^ADD (CONSTRAINT|CHECK|FOREIGN|UNIQUE|PRIMARY|EXCLUDE)\b/.test(upper));
    if (isColumn) {
      const newColumn = column ? unqualify(column[1]) : undefined;
      const newColumnHasDefault = /\bDEFAULT\b/.test(upper) || /\bGENERATED ALWAYS AS \(/.test(upper);
      const add = (kind: AddedConstraint["kind"]) => found.push({ kind, action, notValid: false, newColumn, newColumnHasDefault });
      if (/\bREFERENCES\b/.test(upper)) add("foreign-key");
      if (/\bCHECK\s*\(/.test(upper)) add("check");
      if (/\bUNIQUE\b/.test(upper)) add("unique");
      if (/\bPRIMARY KEY\b/.test(upper)) add("primary-key");
      continue;
    }
    const body = upper.replace(new RegExp(String.raw`^ADD (?:CONSTRAINT ${IDENT} )?`, "i"), "");
    const using = new RegExp(String.raw`^(?:UNIQUE|PRIMARY KEY) USING INDEX (${IDENT})`, "i").exec(action.replace(new RegExp(String.raw`^ADD (?:CONSTRAINT ${IDENT} )?`, "i"), ""));
    const kind: AddedConstraint["kind"] | undefined = /^FOREIGN KEY\b/.test(body)
      ? "foreign-key"
      : /^CHECK\b/.test(body)
        ? "check"
        : /^UNIQUE\b/.test(body)
          ? "unique"
          : /^PRIMARY KEY\b/.test(body)
            ? "primary-key"
            : /^EXCLUDE\b/.test(body)
              ? "exclude"
              : undefined;
    if (kind) found.push({ kind, action, notValid, usingIndex: using ? unqualify(using[1]) : undefined, newColumnHasDefault: false });
  }
  return found;
}

/**
 * A foreign key or CHECK that makes PostgreSQL scan the table while it holds the ALTER's lock.
 * A foreign key on a column this same statement adds without a DEFAULT is the exception: every
 * existing row holds NULL there, and PostgreSQL skips the check (measured: 2 ms on 2M rows).
 */
export function scansToValidate(c: AddedConstraint): boolean {
  if (c.kind === "foreign-key") return !c.notValid && !(c.newColumn && !c.newColumnHasDefault);
  if (c.kind === "check") return !c.notValid;
  return false;
}

/** The columns of `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] <name> ON <table> (<columns>)`, when it names `index`. */
export function indexColumns(text: string, index: string): { table: string; columns: string[] } | undefined {
  const m = new RegExp(String.raw`^CREATE (?:UNIQUE )?INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?(${QUALIFIED}) ON (?:ONLY )?(${QUALIFIED})(?: USING \w+)? \((.*)\)`, "i").exec(normalise(text));
  if (!m || unqualify(m[1]) !== index) return undefined;
  const columns = splitTopLevel(m[3]).map((c) => new RegExp(String.raw`^(${IDENT})`).exec(c)?.[1]);
  if (columns.some((c) => c === undefined)) return undefined; // an expression index cannot back a constraint
  return { table: unqualify(m[2]), columns: columns.map((c) => unqualify(c!)) };
}

/** Columns `CREATE TABLE <table> (...)` declares NOT NULL (or PRIMARY KEY, which implies it). */
export function notNullColumnsOfCreate(text: string, table: string): string[] | undefined {
  const sql = normalise(text);
  const m = new RegExp(String.raw`^CREATE (?:UNLOGGED )?TABLE (?:IF NOT EXISTS )?(${QUALIFIED}) \((.*)\)`, "i").exec(sql);
  if (!m || unqualify(m[1]) !== table) return undefined;
  const out: string[] = [];
  for (const element of splitTopLevel(m[2])) {
    const upper = element.toUpperCase();
    const primary = /^(?:CONSTRAINT \S+ )?PRIMARY KEY \((.*)\)/i.exec(element);
    if (primary) {
      out.push(...splitTopLevel(primary[1]).map(unqualify));
      continue;
    }
    if (/^(CONSTRAINT|CHECK|UNIQUE|FOREIGN|EXCLUDE|LIKE)\b/.test(upper)) continue;
    const name = new RegExp(String.raw`^(${IDENT})`).exec(element);
    if (name && (/\bNOT NULL\b/.test(upper) || /\bPRIMARY KEY\b/.test(upper))) out.push(unqualify(name[1]));
  }
  return out;
}
