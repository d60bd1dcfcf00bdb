/**
 * Yahoo chart requests: the date window of a step (start/end or NYSE sessions back from the run
 * date) as `period1`/`period2`, the request path, and one fetch + parse per symbol.
 */
import { sessionsBack } from "../../calendar/index.js";
import type { HttpClient } from "../http/client.js";
import { type ParsedChart, parseChart } from "./chart.js";

export interface YahooRange {
  /** First date, inclusive. */
  start: string;
  /** Last date, inclusive. */
  end: string;
  /** `start` 00:00 UTC, epoch seconds. */
  period1: number;
  /** The day after `end`, 00:00 UTC, epoch seconds (a bar dated then is dropped). */
  period2: number;
}

const DAY_SECONDS = 86_400;

function utcSeconds(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) / 1000;
}

/** The window from `start`/`end` (end defaults to the run date) or from `days_back` NYSE sessions. */
export function chartRange(
  params: { start?: string | undefined; end?: string | undefined; days_back?: number | undefined },
  runDate: string,
): YahooRange {
  let start: string;
  let end: string;
  if (params.days_back !== undefined) {
    ({ start, end } = sessionsBack(runDate, params.days_back));
  } else if (params.start !== undefined) {
    start = params.start;
    end = params.end ?? runDate;
  } else {
    throw new Error("give either start (and optionally end) or days_back");
  }
  return { start, end, period1: utcSeconds(start), period2: utcSeconds(end) + DAY_SECONDS };
}

/** `/v8/finance/chart/{T}?period1=&period2=&interval=1d&events=div,splits` with T URL-encoded. */
export function chartPath(symbol: string, range: YahooRange): string {
  return `/v8/finance/chart/${encodeURIComponent(symbol)}?period1=${range.period1}&period2=${range.period2}&interval=1d&events=div,splits`;
}

/** Fetches and parses one symbol's chart; errors name the symbol and the URL. */
export async function fetchChart(
  client: HttpClient,
  baseUrl: string,
  symbol: string,
  range: YahooRange,
  options: { signal?: AbortSignal; now?: Date } = {},
): Promise<ParsedChart> {
  const path = chartPath(symbol, range);
  const url = `${baseUrl.replace(/\/+$/, "")}${path}`;
  const getOptions: { label: string; signal?: AbortSignal } = { label: symbol };
  if (options.signal !== undefined) getOptions.signal = options.signal;
  const body = await client.getJson(url, getOptions);
  try {
    const parseOptions: { symbol: string; lastDate: string; now?: Date } = { symbol, lastDate: range.end };
    if (options.now !== undefined) parseOptions.now = options.now;
    return parseChart(body, parseOptions);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${message} (GET ${url})`, { cause: err });
  }
}
