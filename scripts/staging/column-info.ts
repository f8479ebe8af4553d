/**
 * One column as the catalog reads it (scripts/staging/catalog.ts) and the mask SQL needs it
 * (scrub-sql.ts). A module of its own so that neither imports the other for it: the catalog uses
 * scrub-sql's mask formats, and scrub-sql only needs this shape.
 */
export interface ColumnInfo {
  readonly name: string;
  readonly attnum: number;
  /** format_type(): e.g. "character varying(320)", "timestamp with time zone", "public.email_domain". */
  readonly type: string;
  /** The base type's name (a domain resolved): text, varchar, jsonb, date, ... */
  readonly baseType: string;
  /** The base type's category: S = string, D = date/time, U = user (json/jsonb), N = numeric, ... */
  readonly category: string;
  readonly notNull: boolean;
  /** "" or "s" (stored generated column). */
  readonly generated: string;
  /** A COLLATE clause to keep a non-default collation, or undefined. */
  readonly collation?: string;
}
