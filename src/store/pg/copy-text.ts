/**
 * PostgreSQL's COPY text format from DuckDB's values, exactly: one line per row, fields separated by
 * tabs, `\N` for NULL, backslash, newline, carriage return and tab escaped. What each type becomes:
 * - DOUBLE: `String(x)` (the shortest text that reads back as the same float64), `-0` kept, `NaN`,
 *   `Infinity` and `-Infinity` as PostgreSQL spells them;
 * - DATE: `YYYY-MM-DD` (`BC` before year 1, `infinity`), whatever the session's DateStyle reads;
 * - TIMESTAMPTZ: the instant in UTC to the microsecond, `YYYY-MM-DD HH:MM:SS.ffffff+00`;
 * - BIGINT, INTEGER: decimal digits; BOOLEAN: `t` / `f`;
 * - VARCHAR and JSON (VARCHAR with an alias): the text, escaped. PostgreSQL's text holds no U+0000
 *   and its jsonb no `\u0000` escape: they become U+FFFD (`pgText`, `pgJsonText`), as PostgreSQL's
 *   writers store them, and `altered` counts each value so changed.
 */
import {
  type DuckDBDataChunk,
  type DuckDBDateValue,
  type DuckDBTimestampTZValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
} from "@duckdb/node-api";
import { pgJsonText, pgText } from "./text.js";

/** One DuckDB value (never null) as a COPY text field. */
export type CopyField = (value: DuckDBValue) => string;

/** A column whose values cannot go to PostgreSQL as they are (its type, or a value). */
export class CopyValueError extends Error {
  override name = "CopyValueError";
}

const ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };
const NEEDS_ESCAPE = /[\\\n\r\t]/;
const NEEDS_ESCAPE_ALL = /[\\\n\r\t]/g;

/** Text escaped for COPY's text format. */
export function copyText(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(NEEDS_ESCAPE_ALL, (c) => ESCAPES[c]!) : text;
}

/** A float64 as PostgreSQL reads it back bit for bit. */
export function copyDouble(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Number.POSITIVE_INFINITY) return "Infinity";
  if (x === Number.NEGATIVE_INFINITY) return "-Infinity";
  return Object.is(x, -0) ? "-0" : String(x);
}

// DuckDB's infinite dates and timestamps: the largest and smallest values of the storage type.
const DATE_INFINITY = 2_147_483_647;
const TIMESTAMP_INFINITY = 9_223_372_036_854_775_807n;
const MICROS_PER_DAY = 86_400_000_000n;
const MICROS_PER_DAY_NUMBER = 86_400_000_000;
const SAFE_MICROS = BigInt(Number.MAX_SAFE_INTEGER);

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** Days since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian; `YYYY-MM-DD BC` before year 1). */
export function copyDate(days: number): string {
  if (days === DATE_INFINITY) return "infinity";
  if (days === -DATE_INFINITY) return "-infinity";
  // Howard Hinnant's civil_from_days: exact for any day count, no Date (whose range is smaller).
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const ymd = (y: number) => `${pad(y, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
  return year >= 1 ? ymd(year) : `${ymd(1 - year)} BC`;
}

/** Microseconds since 1970-01-01 UTC as `YYYY-MM-DD HH:MM:SS.ffffff+00` (`BC` before year 1). */
export function copyTimestampTz(micros: bigint): string {
  if (micros === TIMESTAMP_INFINITY) return "infinity";
  if (micros === -TIMESTAMP_INFINITY) return "-infinity";
  let days: number;
  let inDay: number;
  if (micros > -SAFE_MICROS && micros < SAFE_MICROS) {
    // Within 2^53 (years 1685 to 2255): a double holds it exactly, and is far cheaper than BigInt.
    const n = Number(micros);
    days = Math.floor(n / MICROS_PER_DAY_NUMBER);
    inDay = n - days * MICROS_PER_DAY_NUMBER;
  } else {
    let d = micros / MICROS_PER_DAY;
    let rest = micros % MICROS_PER_DAY;
    if (rest < 0n) {
      d -= 1n;
      rest += MICROS_PER_DAY;
    }
    days = Number(d);
    inDay = Number(rest);
  }
  const seconds = Math.floor(inDay / 1_000_000);
  const time = `${pad(Math.floor(seconds / 3600), 2)}:${pad(Math.floor(seconds / 60) % 60, 2)}:${pad(seconds % 60, 2)}.${pad(inDay % 1_000_000, 6)}`;
  const date = copyDateCached(days);
  // PostgreSQL reads the era after the offset: `0001-01-01 00:00:00+00 BC`.
  return date.endsWith(" BC") ? `${date.slice(0, -3)} ${time}+00 BC` : `${date} ${time}+00`;
}

/**
 * `copyDate`, remembered: a table's dates repeat (bars of many symbols share their sessions). The
 * cache is bounded; past its size it starts over.
 */
function copyDateCached(days: number): string {
  let text = dateCache.get(days);
  if (text === undefined) {
    if (dateCache.size >= DATE_CACHE_SIZE) dateCache.clear();
    text = copyDate(days);
    dateCache.set(days, text);
  }
  return text;
}
const DATE_CACHE_SIZE = 100_000;
const dateCache = new Map<number, string>();

function copyVarchar(json: boolean, altered: () => void): CopyField {
  return (value) => {
    const text = value as string;
    const stored = json ? pgJsonText(text)! : pgText(text);
    if (stored !== text) altered();
    return copyText(stored);
  };
}

/**
 * How each value of a column of `type` becomes a COPY text field. `column` names the column in
 * errors; `altered` is called for each text value changed to fit PostgreSQL (U+0000).
 *
 * @throws CopyValueError for a type tickflow's schema does not use.
 */
export function copyFieldOf(type: DuckDBType, column: string, altered: () => void = () => {}): CopyField {
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
      return copyVarchar(type.alias === "JSON", altered);
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.FLOAT:
      return (value) => copyDouble(value as number);
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
      return (value) => String(value);
    case DuckDBTypeId.BOOLEAN:
      return (value) => (value ? "t" : "f");
    case DuckDBTypeId.DATE:
      return (value) => copyDateCached((value as DuckDBDateValue).days);
    case DuckDBTypeId.TIMESTAMP_TZ:
      return (value) => copyTimestampTz((value as DuckDBTimestampTZValue).micros);
    default:
      throw new CopyValueError(
        `column ${column}: DuckDB type ${String(type)} has no PostgreSQL counterpart here`,
      );
  }
}

/** The rows of `chunk` as COPY text lines (each ending in a newline), fields in column order. */
export function copyLines(chunk: DuckDBDataChunk, fields: readonly CopyField[]): string {
  const columns = chunk.getColumns();
  const rows = chunk.rowCount;
  const lines: string[] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    let line = "";
    for (let c = 0; c < fields.length; c++) {
      const value = columns[c]![r]!;
      if (c > 0) line += "\t";
      line += value === null ? "\\N" : fields[c]!(value);
    }
    lines[r] = line;
  }
  return rows === 0 ? "" : `${lines.join("\n")}\n`;
}
