import Ajv, { type ErrorObject } from "ajv";
import schema from "../../infra/flags-appconfig.schema.json";

/**
 * Validates a hosted feature-flag document against AWS's published AWS.AppConfig.FeatureFlags schema
 * (vendored in infra/flags-appconfig.schema.json, with its source URL), the way AppConfig reads it.
 *
 * Two adjustments make ajv (draft-07, v8) read the schema as its draft says, without changing it:
 * - draft-07 ignores every keyword beside a `$ref` (spec §8.3); ajv v8 applies them, and the schema's
 *   root has `"type": "object", "$ref": …, "additionalProperties": false` — applied, that would
 *   refuse "version", "flags" and "values" themselves. So siblings of `$ref` are dropped.
 * - "date" is a draft-07 format ajv does not ship (ajv-formats does): a full-date check here.
 * Strict mode is off: the schema uses keywords beside types they do not apply to (`maxLength` on
 * arrays) and overlapping properties/patternProperties ("enabled"), both harmless in JSON Schema.
 */
function withoutRefSiblings(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutRefSiblings);
  if (node === null || typeof node !== "object") return node;
  const object = node as Record<string, unknown>;
  if (typeof object.$ref === "string") return { $ref: object.$ref };
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, withoutRefSiblings(v)]));
}

const ajv = new Ajv({ allErrors: true, strict: false, formats: { date: (d: string) => /^\d{4}-\d{2}-\d{2}$/.test(d) && !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) } });
const validate = ajv.compile({ $schema: schema.$schema, definitions: withoutRefSiblings(schema.definitions), $ref: schema.$ref });

/** Every way `document` breaks the schema, one line each ("/values/x/_variants/0: must NOT have additional properties (maxItems)"); [] when valid. */
export function featureFlagsSchemaErrors(document: unknown): string[] {
  if (validate(document)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => {
    const extra = e.keyword === "additionalProperties" ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : "";
    return `${e.instancePath || "/"}: ${e.message ?? e.keyword}${extra}`;
  });
}
