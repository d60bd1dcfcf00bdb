/**
 * The Polygon (Massive) HTTP client: the shared HTTP core with `Authorization: Bearer <key>` on every
 * request (next_url pages included), a rate limiter shared per base URL, and the fetches of the
 * aggregates, grouped-daily, splits and dividends endpoints (one next_url loop for all). The key
 * never goes into a URL or a message.
 */
import type { Bar, CorporateAction } from "../../market/bars.js";
import type { StepContext } from "../../pipeline/step-spec.js";
import { type HttpClient, redactUrl } from "../http/client.js";
import { type StepHttpParams, scrubSecret, stepHttpClient } from "../http/step-client.js";
import {
  type Page,
  PolygonBodyError,
  parseAggregates,
  parseDividends,
  parseGroupedDaily,
  parseSplits,
} from "./parse.js";

export interface PolygonHttpParams extends StepHttpParams {
  api_key?: string | undefined;
}

/** params.api_key, else env POLYGON_API_KEY; throws a clear error when neither is set. */
export function resolveApiKey(params: { api_key?: string | undefined }, env: StepContext["env"]): string {
  const key = params.api_key ?? env.POLYGON_API_KEY;
  if (key === undefined || key.trim() === "") {
    throw new Error(
      "no Polygon API key: set the POLYGON_API_KEY environment variable or give api_key: ${{ env.NAME }}",
    );
  }
  return key.trim();
}

export interface PolygonClient {
  http: HttpClient;
  /** Base URL without a trailing slash. */
  baseUrl: string;
  key: string;
  close(): Promise<void>;
}

export function createPolygonClient(ctx: StepContext, params: PolygonHttpParams): PolygonClient {
  const key = resolveApiKey(params, ctx.env);
  const http = stepHttpClient(ctx, params, {
    api: "polygon",
    headers: { authorization: `Bearer ${key}` },
    secret: key,
  });
  return { http, key, baseUrl: params.base_url.replace(/\/+$/, ""), close: () => http.close() };
}

/** Every bar of `symbol` from `from` to `to`, following next_url; throws naming symbol and URL. */
export async function fetchAggregates(
  client: PolygonClient,
  symbol: string,
  options: { from: string; to: string; adjusted: boolean; limit: number; signal: AbortSignal },
): Promise<{ bars: Bar[]; pages: number }> {
  const query = new URLSearchParams({
    adjusted: String(options.adjusted),
    sort: "asc",
    limit: String(options.limit),
  });
  const first = `/v2/aggs/ticker/${encodeURIComponent(symbol)}/range/1/day/${options.from}/${options.to}?${query}`;
  const { rows, pages } = await fetchPages(client, first, symbol, options.signal, (body) => {
    const page = parseAggregates(body, symbol);
    return { rows: page.bars, nextUrl: page.nextUrl };
  });
  return { bars: rows, pages };
}

/** The reference endpoints of corporate actions: path, the date field its range filters on, parser. */
const ACTIONS = {
  splits: { path: "/v3/reference/splits", dateField: "execution_date", parse: parseSplits },
  dividends: { path: "/v3/reference/dividends", dateField: "ex_dividend_date", parse: parseDividends },
} as const;

/**
 * Splits (executed) or dividends (going ex) of `symbol` from `from` to `to` (inclusive),
 * following next_url.
 */
export async function fetchActions(
  client: PolygonClient,
  kind: keyof typeof ACTIONS,
  symbol: string,
  options: { from: string; to: string; signal: AbortSignal },
): Promise<{ actions: CorporateAction[]; pages: number }> {
  const endpoint = ACTIONS[kind];
  const query = new URLSearchParams({
    ticker: symbol,
    [`${endpoint.dateField}.gte`]: options.from,
    [`${endpoint.dateField}.lte`]: options.to,
    limit: "1000",
  });
  const what = `${symbol} ${kind}`;
  const { rows, pages } = await fetchPages(
    client,
    `${endpoint.path}?${query}`,
    symbol,
    options.signal,
    (body) => endpoint.parse(body, what),
  );
  return { actions: rows, pages };
}

/**
 * GETs `first` and every page its `next_url` chain names (the key goes in the header, never in the
 * URL: an `apiKey` a next_url carries is stripped), collecting the rows `parse` finds on each page.
 * Throws naming `label` and the URL (without the key) on a bad body or a next_url loop.
 */
async function fetchPages<T>(
  client: PolygonClient,
  first: string,
  label: string,
  signal: AbortSignal,
  parse: (body: unknown) => Page<T>,
): Promise<{ rows: T[]; pages: number }> {
  let url: string | undefined = first;
  const seen = new Set<string>();
  const rows: T[] = [];
  let pages = 0;
  while (url !== undefined) {
    if (seen.has(url)) throw new Error(`${label}: next_url repeats itself: GET ${redactUrl(url)}`);
    seen.add(url);
    const body = await client.http.getJson(url, { signal, label });
    pages++;
    let page: Page<T>;
    try {
      page = parse(body);
    } catch (err) {
      throw bodyError(err, url, client);
    }
    for (const row of page.rows) rows.push(row);
    url = page.nextUrl === undefined ? undefined : redactUrl(page.nextUrl) /* next_url may carry apiKey */;
  }
  return { rows, pages };
}

/** The whole market's bars of one session. */
export async function fetchGroupedDaily(
  client: PolygonClient,
  date: string,
  options: { adjusted: boolean; includeOtc: boolean; signal: AbortSignal },
): Promise<Bar[]> {
  const query = new URLSearchParams({
    adjusted: String(options.adjusted),
    include_otc: String(options.includeOtc),
  });
  const url = `/v2/aggs/grouped/locale/us/market/stocks/${date}?${query}`;
  const body = await client.http.getJson(url, { signal: options.signal, label: date });
  try {
    return parseGroupedDaily(body, date);
  } catch (err) {
    throw bodyError(err, url, client);
  }
}

function bodyError(err: unknown, url: string, client: PolygonClient): Error {
  if (!(err instanceof PolygonBodyError)) return err instanceof Error ? err : new Error(String(err));
  const absolute = /^https?:/i.test(url) ? url : `${client.baseUrl}${url}`;
  return new PolygonBodyError(scrubSecret(`${err.message} (GET ${redactUrl(absolute)})`, client.key));
}
