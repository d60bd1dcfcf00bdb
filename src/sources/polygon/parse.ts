/**
 * Parsers of Polygon (Massive) aggregates bodies: `/v2/aggs/ticker/{T}/range/...` and
 * `/v2/aggs/grouped/locale/us/market/stocks/{date}`. Dates come from `t` (ms epoch) in the exchange
 * time zone, never from the UTC date. HTTP error bodies are handled by the HTTP client.
 */
import { DateTime } from "luxon";

export const POLYGON_TIMEZONE = "America/New_York";

/** One daily bar as bars_daily stores it (adj_close is not given by Polygon's aggregates). */
export interface PolygonBar {
  symbol: string;
  /** Session date `YYYY-MM-DD` in America/New_York. */
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  vwap: number | null;
  trades: number | null;
}

export interface AggregatesPage {
  bars: PolygonBar[];
  /** Absolute URL of the next page, when Polygon has more. */
  nextUrl: string | undefined;
}

/** A body that is JSON but not what the endpoint should return. */
export class PolygonBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolygonBodyError";
  }
}

/** `YYYY-MM-DD` of the instant `ms` in America/New_York. */
export function newYorkDate(ms: number): string {
  // Every symbol's bars carry the same session timestamps: convert each once (time-zone maths in
  // luxon cost more than the rest of ingestion together).
  let date = newYorkDates.get(ms);
  if (date === undefined) {
    const iso = DateTime.fromMillis(ms, { zone: POLYGON_TIMEZONE }).toISODate();
    if (iso === null) throw new PolygonBodyError(`invalid timestamp t=${ms}`);
    date = iso;
    if (newYorkDates.size > 100_000) newYorkDates.clear();
    newYorkDates.set(ms, date);
  }
  return date;
}

const newYorkDates = new Map<number, string>();

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The rows of `results`: `null` or missing is empty; anything but an array is a wrong shape. */
function resultsOf(body: unknown, what: string): unknown[] {
  if (!isRecord(body)) throw new PolygonBodyError(`${what}: expected a JSON object, got ${kind(body)}`);
  const status = body.status;
  if (typeof status === "string" && /^(ERROR|NOT_AUTHORIZED|NOT_FOUND)$/i.test(status)) {
    const message = body.message ?? body.error;
    throw new PolygonBodyError(
      `${what}: Polygon answered status ${status}${typeof message === "string" ? `: ${message}` : ""}`,
    );
  }
  const results = body.results;
  if (results === undefined || results === null) return [];
  if (!Array.isArray(results))
    throw new PolygonBodyError(`${what}: "results" is ${kind(results)}, not an array`);
  return results;
}

function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/** Where a row sits in a body, for errors: built only when one is thrown (rows number millions). */
interface RowPlace {
  what: string;
  index: number;
}

function placeOf(where: RowPlace): string {
  return `${where.what}: results[${where.index}]`;
}

function requiredNumber(row: Record<string, unknown>, key: string, where: RowPlace): number {
  const value = row[key];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new PolygonBodyError(
      `${placeOf(where)}: field "${key}" is ${JSON.stringify(value) ?? "missing"}, not a number`,
    );
  }
  return value;
}

function optionalNumber(row: Record<string, unknown>, key: string, where: RowPlace): number | null {
  const value = row[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new PolygonBodyError(`${placeOf(where)}: field "${key}" is ${JSON.stringify(value)}, not a number`);
  }
  return value;
}

function parseRow(raw: unknown, symbol: string | undefined, where: RowPlace): PolygonBar {
  if (!isRecord(raw)) throw new PolygonBodyError(`${placeOf(where)}: expected an object, got ${kind(raw)}`);
  let ticker = symbol;
  if (ticker === undefined) {
    const t = raw.T;
    if (typeof t !== "string" || t === "")
      throw new PolygonBodyError(`${placeOf(where)}: field "T" (ticker) is missing`);
    ticker = t;
  }
  const trades = optionalNumber(raw, "n", where);
  return {
    symbol: ticker,
    date: newYorkDate(requiredNumber(raw, "t", where)),
    open: requiredNumber(raw, "o", where),
    high: requiredNumber(raw, "h", where),
    low: requiredNumber(raw, "l", where),
    close: requiredNumber(raw, "c", where),
    volume: requiredNumber(raw, "v", where),
    vwap: optionalNumber(raw, "vw", where),
    trades: trades === null ? null : Math.round(trades),
  };
}

/** One page of `/v2/aggs/ticker/{symbol}/range/...`. `what` names the request in errors. */
export function parseAggregates(body: unknown, symbol: string, what = symbol): AggregatesPage {
  const results = resultsOf(body, what);
  const place = { what, index: 0 };
  const bars = results.map((row, i) => {
    place.index = i;
    return parseRow(row, symbol, place);
  });
  const next = isRecord(body) ? body.next_url : undefined;
  if (next !== undefined && next !== null && (typeof next !== "string" || next === "")) {
    throw new PolygonBodyError(`${what}: "next_url" is ${JSON.stringify(next)}, not a URL`);
  }
  return { bars, nextUrl: typeof next === "string" ? next : undefined };
}

/** A `/v2/aggs/grouped/locale/us/market/stocks/{date}` body: one bar per ticker (`T`). */
export function parseGroupedDaily(body: unknown, what = "grouped daily"): PolygonBar[] {
  const place = { what, index: 0 };
  return resultsOf(body, what).map((row, i) => {
    place.index = i;
    return parseRow(row, undefined, place);
  });
}
