/**
 * PostgreSQL's values as the plain JSON that step outputs hold, the same as DuckDB's
 * (`toJsonValue` in `../values.ts`) where the types mean the same: bigint -> number when safe, else
 * its digits as a string; numeric -> number; date -> `YYYY-MM-DD`; timestamp / timestamptz -> ISO
 * 8601 in UTC (a timestamp without zone read as UTC); json / jsonb -> the parsed value; NaN and
 * infinities -> strings; arrays -> arrays of the same; every other type -> PostgreSQL's text form.
 *
 * Given per query (`types: PG_JSON_TYPES`), never set on `pg.types`: the store's own reads keep
 * pg's defaults.
 */
import pg from "pg";
import type { JsonValue } from "../values.js";

type Parse = (text: string) => JsonValue;

/**
 * pg-types' array reader (its type declarations describe another form than it has). Read when
 * first needed, not at import: in the single binary `pg` is compiled on first use (`lazyAsset`).
 */
const arrayParser = () =>
  pg.types.arrayParser as unknown as {
    create(text: string, item: (value: string | null) => JsonValue): { parse(): JsonValue[] };
  };

/** NaN and infinities are not JSON: strings rather than a silent null (as on DuckDB). */
function finiteOrText(text: string): JsonValue {
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}

function bigintOrText(text: string): JsonValue {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/** `2024-01-02 03:04:05.678` (no zone) as UTC. */
function timestampUtc(text: string): JsonValue {
  const date = new Date(`${text.replace(" ", "T")}Z`);
  return Number.isNaN(date.getTime()) ? text : date.toISOString();
}

/** With a zone, in the session's format (pg's parser reads any offset). */
function timestampTz(text: string): JsonValue {
  const parsed: unknown = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, "text")(text);
  return parsed instanceof Date && !Number.isNaN(parsed.getTime()) ? parsed.toISOString() : text;
}

function json(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

const asText: Parse = (text) => text;
const asBool: Parse = (text) => text === "t" || text === "true";

/** Scalar parsers by type OID. */
const SCALARS = new Map<number, Parse>([
  [16, asBool], // bool
  [20, bigintOrText], // int8
  [21, finiteOrText], // int2
  [23, finiteOrText], // int4
  [26, finiteOrText], // oid
  [700, finiteOrText], // float4
  [701, finiteOrText], // float8
  [1700, finiteOrText], // numeric
  [1082, asText], // date
  [1114, timestampUtc], // timestamp
  [1184, timestampTz], // timestamptz
  [114, json], // json
  [3802, json], // jsonb
]);

/** Array type OID -> element type OID. */
const ARRAYS = new Map<number, number>([
  [1000, 16],
  [1016, 20],
  [1005, 21],
  [1007, 23],
  [1021, 700],
  [1022, 701],
  [1231, 1700],
  [1182, 1082],
  [1115, 1114],
  [1185, 1184],
  [199, 114],
  [3807, 3802],
  [1009, 25], // text[]
  [1015, 1043], // varchar[]
]);

function parserOf(oid: number): Parse {
  const scalar = SCALARS.get(oid);
  if (scalar !== undefined) return scalar;
  const element = ARRAYS.get(oid);
  if (element !== undefined) {
    const item = SCALARS.get(element) ?? asText;
    return (text) =>
      arrayParser()
        .create(text, (value: string | null) => (value === null ? null : item(value)))
        .parse();
  }
  return asText;
}

/** The `types` of a query whose rows become step outputs. */
export const PG_JSON_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    format === "binary"
      ? pg.types.getTypeParser(oid, "binary")
      : parserOf(oid)) as pg.CustomTypesConfig["getTypeParser"],
};
