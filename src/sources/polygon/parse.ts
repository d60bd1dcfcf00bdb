/**
 * Parsers of Polygon (Massive) bodies: aggregates (`/v2/aggs/ticker/{T}/range/...` and
 * `/v2/aggs/grouped/locale/us/market/stocks/{date}`), whose dates come from `t` (ms epoch) in the
 * exchange time zone, never from the UTC date; and the reference splits and dividends
 * (`/v3/reference/splits`, `/v3/reference/dividends`, and the newer `/stocks/v1/...` shapes, which
 * carry the same fields plus more). HTTP error bodies are handled by the HTTP client.
 */
import { DateTime } from "luxon";
import type { Bar, CorporateAction } from "../../market/bars.js";

export const POLYGON_TIMEZONE = "America/New_York";

export interface AggregatesPage {
  bars: Bar[];
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

function parseRow(raw: unknown, symbol: string | undefined, where: RowPlace): Bar {
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
  return { bars, nextUrl: nextUrlOf(body, what) };
}

/** `next_url` of a page: absent or null when there is no next page. */
function nextUrlOf(body: unknown, what: string): string | undefined {
  const next = isRecord(body) ? body.next_url : undefined;
  if (next !== undefined && next !== null && (typeof next !== "string" || next === "")) {
    throw new PolygonBodyError(`${what}: "next_url" is ${JSON.stringify(next)}, not a URL`);
  }
  return typeof next === "string" ? next : undefined;
}

/** A `/v2/aggs/grouped/locale/us/market/stocks/{date}` body: one bar per ticker (`T`). */
export function parseGroupedDaily(body: unknown, what = "grouped daily"): Bar[] {
  const place = { what, index: 0 };
  return resultsOf(body, what).map((row, i) => {
    place.index = i;
    return parseRow(row, undefined, place);
  });
}

/** One page of a paginated endpoint: its rows and the absolute URL of the next page, if any. */
export interface Page<T> {
  rows: T[];
  nextUrl: string | undefined;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function requiredDate(row: Record<string, unknown>, key: string, where: RowPlace): string {
  const value = row[key];
  if (typeof value !== "string" || !ISO_DATE.test(value)) {
    throw new PolygonBodyError(
      `${placeOf(where)}: field "${key}" is ${JSON.stringify(value) ?? "missing"}, not a YYYY-MM-DD date`,
    );
  }
  return value;
}

function requiredTicker(row: Record<string, unknown>, where: RowPlace): string {
  const value = row.ticker;
  if (typeof value !== "string" || value === "") {
    throw new PolygonBodyError(`${placeOf(where)}: field "ticker" is ${JSON.stringify(value) ?? "missing"}`);
  }
  return value;
}

function positiveNumber(row: Record<string, unknown>, key: string, where: RowPlace): number {
  const value = requiredNumber(row, key, where);
  if (value <= 0) throw new PolygonBodyError(`${placeOf(where)}: field "${key}" is ${value}, not positive`);
  return value;
}

function rowsOf<T>(
  body: unknown,
  what: string,
  parse: (row: Record<string, unknown>, where: RowPlace) => T,
): Page<T> {
  const where = { what, index: 0 };
  const rows = resultsOf(body, what).map((raw, i) => {
    where.index = i;
    if (!isRecord(raw)) throw new PolygonBodyError(`${placeOf(where)}: expected an object, got ${kind(raw)}`);
    return parse(raw, where);
  });
  return { rows, nextUrl: nextUrlOf(body, what) };
}

/**
 * One page of `/v3/reference/splits` (or `/stocks/v1/splits`): value = `split_to / split_from`, so a
 * 4:1 split is 4 and the reverse split 2 -> 1 is 0.5. `what` names the request in errors.
 */
export function parseSplits(body: unknown, what: string): Page<CorporateAction> {
  return rowsOf(body, what, (row, where) => ({
    symbol: requiredTicker(row, where),
    date: requiredDate(row, "execution_date", where),
    kind: "split",
    value: positiveNumber(row, "split_to", where) / positiveNumber(row, "split_from", where),
    currency: null,
  }));
}

/**
 * One page of `/v3/reference/dividends` (or `/stocks/v1/dividends`): dated by `ex_dividend_date`,
 * value = `cash_amount` as paid (not split-adjusted), `currency` when given.
 */
export function parseDividends(body: unknown, what: string): Page<CorporateAction> {
  return rowsOf(body, what, (row, where) => {
    const currency = row.currency;
    if (currency !== undefined && currency !== null && (typeof currency !== "string" || currency === "")) {
      throw new PolygonBodyError(`${placeOf(where)}: field "currency" is ${JSON.stringify(currency)}`);
    }
    return {
      symbol: requiredTicker(row, where),
      date: requiredDate(row, "ex_dividend_date", where),
      kind: "dividend",
      value: requiredNumber(row, "cash_amount", where),
      currency: typeof currency === "string" ? currency : null,
    };
  });
}

/**
 * One action per symbol, date and kind (corporate_actions' key): dividends on the same ex-date (a
 * regular and a special one) add up, splits on the same date multiply. Keeps first-seen order.
 */
export function mergeSameDay(actions: readonly CorporateAction[]): CorporateAction[] {
  const merged = new Map<string, CorporateAction>();
  for (const action of actions) {
    const key = `${action.symbol}\u0000${action.date}\u0000${action.kind}`;
    const held = merged.get(key);
    if (held === undefined) merged.set(key, { ...action });
    else if (action.kind === "split") held.value *= action.value;
    else if (held.currency !== null && action.currency !== null && held.currency !== action.currency) {
      throw new PolygonBodyError(
        `${action.symbol}: two dividends on ${action.date} in ${held.currency} and ${action.currency}`,
      );
    } else {
      held.value += action.value;
      held.currency ??= action.currency;
    }
  }
  return [...merged.values()];
}
