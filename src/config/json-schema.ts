import { z } from "zod";

export type JsonSchema = Record<string, unknown>;

export const SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema";
const SCHEMA_BASE = "https://tickflow.dev/schemas/";

/** A zod schema as a JSON Schema fragment (input side: fields with defaults are optional). */
export function toJsonSchema(schema: z.ZodType): JsonSchema {
  const out = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" }) as JsonSchema;
  delete out.$schema;
  return tidy(out) as JsonSchema;
}

/** zod writes `maximum: 2^53-1` on every integer; editors show it on hover, so drop that noise. */
function tidy(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tidy);
  if (!node || typeof node !== "object") return node;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node)) {
    if (
      (k === "maximum" && v === Number.MAX_SAFE_INTEGER) ||
      (k === "minimum" && v === Number.MIN_SAFE_INTEGER)
    )
      continue;
    out[k] = tidy(v);
  }
  return out;
}

/** Wraps a document body as a standalone schema file: dialect, `$id`, title and local `$defs`. */
export function documentSchema(
  fileName: string,
  title: string,
  body: JsonSchema,
  defs: Record<string, JsonSchema>,
): JsonSchema {
  return { $schema: SCHEMA_DIALECT, $id: `${SCHEMA_BASE}${fileName}`, title, ...body, $defs: defs };
}

/** Moves every occurrence of a fragment equal to `fragment` under `$defs/name` and references it. */
export function hoist(node: unknown, fragment: JsonSchema, ref: string): unknown {
  const key = JSON.stringify(fragment);
  const walk = (n: unknown): unknown => {
    if (Array.isArray(n)) return n.map(walk);
    if (!n || typeof n !== "object") return n;
    if (JSON.stringify(n) === key) return { $ref: ref };
    return Object.fromEntries(Object.entries(n).map(([k, v]) => [k, walk(v)]));
  };
  return walk(node);
}
