/**
 * Yahoo chart requests: a date range as `period1`/`period2`, the request path, and one fetch +
 * parse per symbol.
 */
import type { DateRange } from "../../market/bars.js";
import type { HttpClient } from "../http/client.js";
import { type ParsedChart, parseChart } from "./chart.js";

const DAY_SECONDS = 86_400;

function utcSeconds(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) / 1000;
}

/** `/v8/finance/chart/{T}?period1=&period2=&interval=1d&events=div,splits` with T URL-encoded. */
export function chartPath(symbol: string, range: DateRange): string {
  // period1: `from` 00:00 UTC; period2: the day after `to`, 00:00 UTC (a bar dated then is dropped).
  const period1 = utcSeconds(range.from);
  const period2 = utcSeconds(range.to) + DAY_SECONDS;
  return `/v8/finance/chart/${encodeURIComponent(symbol)}?period1=${period1}&period2=${period2}&interval=1d&events=div,splits`;
}

/** Fetches and parses one symbol's chart; errors name the symbol and the URL. */
export async function fetchChart(
  client: HttpClient,
  baseUrl: string,
  symbol: string,
  range: DateRange,
  options: { signal?: AbortSignal; now?: Date } = {},
): Promise<ParsedChart> {
  const path = chartPath(symbol, range);
  const url = `${baseUrl.replace(/\/+$/, "")}${path}`;
  const getOptions: { label: string; signal?: AbortSignal } = { label: symbol };
  if (options.signal !== undefined) getOptions.signal = options.signal;
  const body = await client.getJson(url, getOptions);
  try {
    const parseOptions: { symbol: string; lastDate: string; now?: Date } = { symbol, lastDate: range.to };
    if (options.now !== undefined) parseOptions.now = options.now;
    return parseChart(body, parseOptions);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${message} (GET ${url})`, { cause: err });
  }
}
