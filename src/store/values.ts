/**
 * Conversions between JS values and DuckDB's, shared by the store's operations and the SQL steps.
 */
import {
  DuckDBArrayValue,
  DuckDBDateValue,
  DuckDBListValue,
  type DuckDBResultReader,
  DuckDBStructValue,
  DuckDBTimestampTZValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
  JSDuckDBValueConverter,
  JsonDuckDBValueConverter,
} from "@duckdb/node-api";

/** A JS Date as DuckDB's TIMESTAMPTZ (microseconds since the epoch). */
export function timestampTZ(date: Date): DuckDBTimestampTZValue {
  return new DuckDBTimestampTZValue(BigInt(date.getTime()) * 1000n);
}

const dateValues = new Map<string, DuckDBDateValue>();

/**
 * Days since 1970-01-01 of a `YYYY-MM-DD` string, as both backends store a bar's date (JS's own
 * reading: a day past the month's end rolls over, `2024-02-30` is March 1st).
 *
 * @throws Error naming the string when it is no date.
 */
export function epochDay(date: string): number {
  const ms = Date.parse(`${date}T00:00:00Z`);
  if (!Number.isFinite(ms)) throw new Error(`invalid date ${JSON.stringify(date)}`);
  return Math.round(ms / 86_400_000);
}

/** A `YYYY-MM-DD` string as the date both backends store (`epochDay`'s reading), `YYYY-MM-DD` again. */
export function storedDate(date: string): string {
  return new Date(epochDay(date) * 86_400_000).toISOString().slice(0, 10);
}

/** A `YYYY-MM-DD` string as a DuckDB DATE (memoised: every symbol repeats the same sessions). */
export function dateValue(date: string): DuckDBDateValue {
  let value = dateValues.get(date);
  if (value === undefined) {
    value = new DuckDBDateValue(epochDay(date));
    if (dateValues.size > 200_000) dateValues.clear();
    dateValues.set(date, value);
  }
  return value;
}

/** A TIMESTAMPTZ read with the JS converter (a Date, or null). */
export function asDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  if (typeof value === "string" || typeof value === "number") return new Date(value);
  throw new TypeError(`expected a timestamp, got ${typeof value}`);
}

/** A nullable VARCHAR. */
export function asString(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** An INTEGER or BIGINT as a JS number. */
export function asNumber(value: unknown): number {
  return typeof value === "bigint" ? Number(value) : Number(value ?? 0);
}

/** A JSON column (read as its text) parsed; null stays null. */
export function asJson<T = unknown>(value: unknown): T | null {
  if (value === null || value === undefined) return null;
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}

/** Rows of a finished query as objects of JS values (TIMESTAMPTZ -> Date, BIGINT -> bigint). */
export function rowObjects(reader: DuckDBResultReader): Record<string, unknown>[] {
  return reader.getRowObjectsJS() as Record<string, unknown>[];
}

/** A JSON-able value: what step outputs and `--json` may hold. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * One value of a result as plain JSON: BIGINT and other wide integers -> number when safe, else a
 * string; DECIMAL -> number; DATE -> `YYYY-MM-DD`; TIMESTAMP / TIMESTAMPTZ -> ISO 8601 in UTC
 * (`2024-01-02T03:04:05.123Z`; a naive TIMESTAMP is read as UTC); a JSON column -> its parsed value;
 * lists and structs -> arrays and objects of the same conversions; everything else (MAP, TIME,
 * INTERVAL, UUID, BLOB, ...) -> DuckDB's own JSON form, mostly a string.
 */
export function toJsonValue(value: DuckDBValue, type: DuckDBType): JsonValue {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.DECIMAL: {
      const js = JSDuckDBValueConverter(value, type, JSDuckDBValueConverter);
      return typeof js === "number" || typeof js === "boolean" ? finite(js) : String(js);
    }
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM: {
      const big = typeof value === "bigint" ? value : BigInt(String(value));
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(big)
        : big.toString();
    }
    case DuckDBTypeId.DATE:
      return String(value);
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
    case DuckDBTypeId.TIMESTAMP_TZ: {
      const js = JSDuckDBValueConverter(value, type, JSDuckDBValueConverter);
      return js instanceof Date && !Number.isNaN(js.getTime()) ? js.toISOString() : String(value);
    }
    case DuckDBTypeId.VARCHAR:
      if (type.alias?.toUpperCase() === "JSON") {
        try {
          return JSON.parse(String(value)) as JsonValue;
        } catch {
          return String(value);
        }
      }
      return String(value);
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) {
        const itemType = type.valueType;
        return value.items.map((item) => toJsonValue(item, itemType));
      }
      break;
    case DuckDBTypeId.STRUCT:
      if (value instanceof DuckDBStructValue) {
        const out: Record<string, JsonValue> = {};
        type.entryNames.forEach((name, i) => {
          out[name] = toJsonValue(value.entries[name] ?? null, type.entryTypes[i]!);
        });
        return out;
      }
      break;
  }
  return JsonDuckDBValueConverter(value, type, JsonDuckDBValueConverter) as JsonValue;
}

/** NaN and infinities are not JSON: they become strings rather than a silent null. */
function finite(value: number | boolean): JsonValue {
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return value;
}
