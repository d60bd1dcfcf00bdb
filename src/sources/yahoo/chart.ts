/**
 * Parser of Yahoo Finance's chart API body (`/v8/finance/chart/{T}?interval=1d&events=div,splits`).
 * Dates come from the timestamps in `meta.exchangeTimezoneName`, never from the UTC date. Rows with
 * nulls are skipped and counted; a bar whose session has not closed yet is dropped.
 */
import { DateTime } from "luxon";
import type { Bar, CorporateAction } from "../../market/bars.js";

export interface ParsedChart {
  bars: Bar[];
  /** Dividends carry `currency` (`meta.currency`). */
  actions: CorporateAction[];
  /** Rows dropped because Yahoo gave null prices for them. */
  nullsSkipped: number;
  currency: string | null;
  timezone: string;
}

export interface ParseChartOptions {
  symbol: string;
  /** The current instant (for dropping the bar of a session still open); default: now. */
  now?: Date;
  /** Drop bars dated after this date (`YYYY-MM-DD`, inclusive end of the requested range). */
  lastDate?: string;
}

/** A body that is JSON but not what the chart API should return, or Yahoo's own `chart.error`. */
export class YahooChartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "YahooChartError";
  }
}

/** Local close used when the body does not say when today's regular session ends. */
const DEFAULT_CLOSE_HOUR = 16;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function finite(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Parses a chart body; throws YahooChartError naming the symbol when it is an error or malformed. */
export function parseChart(body: unknown, options: ParseChartOptions): ParsedChart {
  const { symbol } = options;
  const bad = (what: string): never => {
    throw new YahooChartError(`${symbol}: unexpected Yahoo chart body: ${what}`);
  };
  if (!isRecord(body) || !isRecord(body.chart)) return bad('no "chart" object');
  const chart = body.chart;
  if (isRecord(chart.error)) {
    const description =
      typeof chart.error.description === "string" && chart.error.description !== ""
        ? chart.error.description
        : typeof chart.error.code === "string"
          ? chart.error.code
          : JSON.stringify(chart.error);
    throw new YahooChartError(`${symbol}: Yahoo chart error: ${description}`);
  }
  if (!Array.isArray(chart.result)) return bad('"chart.result" is not an array');
  const result: unknown = chart.result[0];
  if (!isRecord(result)) return bad('"chart.result" is empty');
  const meta = result.meta;
  if (!isRecord(meta)) return bad('no "meta" object');
  const timezone = meta.exchangeTimezoneName;
  if (typeof timezone !== "string" || !DateTime.now().setZone(timezone).isValid) {
    return bad(`"meta.exchangeTimezoneName" is not a time zone (${JSON.stringify(timezone)})`);
  }
  const currency = typeof meta.currency === "string" ? meta.currency : null;
  const toDate = (seconds: number): string =>
    DateTime.fromSeconds(seconds, { zone: timezone }).toISODate() ?? bad(`bad timestamp ${seconds}`);

  const bars: Bar[] = [];
  const actions: CorporateAction[] = [];
  let nullsSkipped = 0;

  const timestamps = result.timestamp;
  if (timestamps !== undefined && timestamps !== null) {
    if (!Array.isArray(timestamps)) return bad('"timestamp" is not an array');
    const indicators = result.indicators;
    if (!isRecord(indicators) || !Array.isArray(indicators.quote)) return bad('no "indicators.quote"');
    const quote: unknown = indicators.quote[0];
    if (!isRecord(quote)) return bad('"indicators.quote[0]" is not an object');
    const column = (
      record: Record<string, unknown>,
      name: string,
      required: boolean,
    ): unknown[] | undefined => {
      const values = record[name];
      if (values === undefined && !required) return undefined;
      if (!Array.isArray(values) || values.length !== timestamps.length) {
        return bad(`"${name}" is not an array of ${timestamps.length} values`);
      }
      return values;
    };
    const open = column(quote, "open", true) ?? [];
    const high = column(quote, "high", true) ?? [];
    const low = column(quote, "low", true) ?? [];
    const close = column(quote, "close", true) ?? [];
    const volume = column(quote, "volume", false);
    let adjclose: unknown[] | undefined;
    if (Array.isArray(indicators.adjclose) && isRecord(indicators.adjclose[0])) {
      adjclose = column(indicators.adjclose[0], "adjclose", false);
    }

    const now = DateTime.fromJSDate(options.now ?? new Date(), { zone: timezone });
    const today = now.toISODate() ?? "";
    const closeOfToday = todaysClose(meta, timezone, now);
    const byDate = new Map<string, Bar>();
    for (let i = 0; i < timestamps.length; i++) {
      const t = timestamps[i];
      if (typeof t !== "number" || !Number.isFinite(t)) return bad(`timestamp[${i}] is not a number`);
      const date = toDate(t);
      const o = finite(open[i]);
      const h = finite(high[i]);
      const l = finite(low[i]);
      const c = finite(close[i]);
      if (o === null || h === null || l === null || c === null) {
        nullsSkipped++;
        continue;
      }
      if (options.lastDate !== undefined && date > options.lastDate) continue;
      if (date > today || (date === today && now.toMillis() < closeOfToday)) continue;
      byDate.set(date, {
        symbol,
        date,
        open: o,
        high: h,
        low: l,
        close: c,
        volume: volume === undefined ? null : finite(volume[i]),
        adj_close: adjclose === undefined ? null : finite(adjclose[i]),
      });
    }
    bars.push(...[...byDate.values()].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0)));
  }

  const events = result.events;
  if (events !== undefined && events !== null) {
    if (!isRecord(events)) return bad('"events" is not an object');
    const entries = (name: string): Record<string, unknown>[] => {
      const group = events[name];
      if (group === undefined || group === null) return [];
      if (!isRecord(group)) return bad(`"events.${name}" is not an object`);
      return Object.values(group).map((entry) =>
        isRecord(entry) ? entry : bad(`an entry of "events.${name}" is not an object`),
      );
    };
    for (const entry of entries("splits")) {
      const t = finite(entry.date);
      const numerator = finite(entry.numerator);
      const denominator = finite(entry.denominator);
      if (t === null || numerator === null || denominator === null || denominator === 0) {
        return bad(`split ${JSON.stringify(entry)} lacks date, numerator or denominator`);
      }
      actions.push({
        symbol,
        date: toDate(t),
        kind: "split",
        value: numerator / denominator,
        currency: null,
      });
    }
    for (const entry of entries("dividends")) {
      const t = finite(entry.date);
      const amount = finite(entry.amount);
      if (t === null || amount === null) return bad(`dividend ${JSON.stringify(entry)} lacks date or amount`);
      actions.push({ symbol, date: toDate(t), kind: "dividend", value: amount, currency });
    }
    actions.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.kind < b.kind ? -1 : 1));
  }
  const kept =
    options.lastDate === undefined ? actions : actions.filter((a) => a.date <= (options.lastDate as string));
  return { bars, actions: kept, nullsSkipped, currency, timezone };
}

/** Epoch ms at which today's regular session closes: `currentTradingPeriod.regular.end` when it is today's, else 16:00 local. */
function todaysClose(meta: Record<string, unknown>, timezone: string, now: DateTime): number {
  const period = meta.currentTradingPeriod;
  if (isRecord(period) && isRecord(period.regular)) {
    const end = finite(period.regular.end);
    if (end !== null) {
      const endLocal = DateTime.fromSeconds(end, { zone: timezone });
      if (endLocal.toISODate() === now.toISODate()) return endLocal.toMillis();
    }
  }
  return now.set({ hour: DEFAULT_CLOSE_HOUR, minute: 0, second: 0, millisecond: 0 }).toMillis();
}
