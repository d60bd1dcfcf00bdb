/**
 * Vendor-independent HTTP core for the ingestion sources (Polygon, Yahoo): keep-alive undici pools,
 * a concurrency cap, a per-source rate limiter, timeouts, retries with backoff, error messages taken
 * from the API's body, and URLs with secrets removed.
 */
import { Pool } from "undici";
import { Masker } from "../../config/masker.js";
import { countHttpRequest, countHttpRetry, countHttpWait } from "../../metrics/record.js";
import { abortReason, type Clock, RateLimiter, raceAbort, realClock } from "./rate-limiter.js";

/** Query parameters whose values are secrets (compared case-insensitively). */
const SECRET_PARAMS = new Set(["apikey", "api_key", "token", "access_token"]);

/** Removes secret query parameters (apiKey, apikey, api_key, token, access_token) and user info. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    for (const name of [...parsed.searchParams.keys()]) {
      if (SECRET_PARAMS.has(name.toLowerCase())) parsed.searchParams.delete(name);
    }
    return parsed.toString();
  } catch {
    return url
      .replace(/([?&])(api_?key|token|access_token)=[^&#]*&?/gi, "$1")
      .replace(/[?&]$/, "")
      .replace(/\/\/[^/@\s]+@/, "//");
  }
}

export interface HttpErrorInit {
  url: string;
  status?: number;
  retryable: boolean;
  attempts: number;
  label?: string;
  cause?: unknown;
}

export class HttpError extends Error {
  /** The request URL with secrets removed. */
  readonly url: string;
  readonly status?: number;
  readonly retryable: boolean;
  /** Requests made (1 = failed at the first attempt). */
  attempts: number;
  readonly label?: string;

  constructor(message: string, init: HttpErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "HttpError";
    this.url = redactUrl(init.url);
    if (init.status !== undefined) this.status = init.status;
    this.retryable = init.retryable;
    this.attempts = init.attempts;
    if (init.label !== undefined) this.label = init.label;
  }
}

export interface RetryInfo {
  /** The attempt that failed (1-based). */
  attempt: number;
  maxRetries: number;
  /** Milliseconds waited before the next attempt. */
  delayMs: number;
  /** Why it is retried, e.g. `HTTP 503`, `timeout after 200 ms`, `ECONNRESET`. */
  reason: string;
  status?: number;
  /** Redacted URL. */
  url: string;
  label?: string;
}

export interface HttpClientOptions {
  /** e.g. `https://api.polygon.io`; relative paths are appended to it. */
  baseUrl: string;
  /** The API's name in the daemon's metrics (`polygon`, `yahoo`); default: the base URL's host. */
  api?: string;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Requests per minute, 0 = unlimited (default 0). */
  rateLimit?: number;
  /** A limiter shared with other clients of the same source (overrides `rateLimit`). */
  rateLimiter?: RateLimiter;
  /** Timeout of one attempt, from connecting to the last byte of the body (default 30 s). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 3). */
  maxRetries?: number;
  /** Sent with every request (e.g. `Authorization: Bearer …`); never shown in errors or logs. */
  headers?: Record<string, string>;
  userAgent?: string;
  /** First backoff delay (default 500 ms); doubles each retry, with jitter. */
  retryBaseMs?: number;
  /** Largest backoff delay (default 30 s). */
  retryMaxMs?: number;
  /** Cap on a server's `Retry-After` (default 60 s). */
  maxRetryAfterMs?: number;
  /** Time source for the limiter and backoff sleeps. */
  clock?: Clock;
  /** Overrides `clock.sleep` for backoff waits. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Random source for jitter in [0, 1) (default Math.random). */
  random?: () => number;
  /** Called before each retry, for logging. */
  onRetry?: (info: RetryInfo) => void;
}

export interface GetJsonOptions {
  signal?: AbortSignal;
  /** What the request is for (e.g. the symbol); named in errors. */
  label?: string;
  /** Extra headers for this request. */
  headers?: Record<string, string>;
}

export interface HttpClient {
  getJson<T = unknown>(pathOrUrl: string, options?: GetJsonOptions): Promise<T>;
  /** HTTP requests sent so far (including retries). */
  readonly requests: number;
  /** Retries made so far. */
  readonly retries: number;
  readonly limiter: RateLimiter;
  /** Closes the keep-alive pools. */
  close(): Promise<void>;
}

const DEFAULT_USER_AGENT = "tickflow/0.1";
const RETRYABLE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
]);

/** Parses `Retry-After` (delta seconds or an HTTP date) into milliseconds; undefined when absent/bad. */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

function collapse(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function isHtml(text: string): boolean {
  return /^\s*(<!doctype html|<html|<head|<body)/i.test(text);
}

function htmlTitle(text: string): string | undefined {
  const match = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(text);
  const title = match?.[1] ? collapse(match[1]) : "";
  return title === "" ? undefined : title;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

/** The API's own error message from a parsed JSON error body, if it has one. */
export function apiErrorMessage(body: unknown): string | undefined {
  const root = asRecord(body);
  if (!root) return undefined;
  // Yahoo: {"chart":{"error":{"code":"Not Found","description":"..."}}} or {"finance":{"error":{...}}}
  for (const key of ["chart", "finance", "quoteSummary"]) {
    const error = asRecord(asRecord(root[key])?.error);
    if (error) {
      const description = str(error.description) ?? str(error.message);
      const code = str(error.code);
      if (description) return code ? `${code}: ${description}` : description;
      if (code) return code;
    }
  }
  // Polygon: {"status":"NOT_AUTHORIZED","message":"..."} / {"status":"ERROR","error":"..."}
  const status = str(root.status);
  const message =
    str(root.message) ?? str(root.error) ?? str(asRecord(root.error)?.message) ?? str(root.detail);
  if (message) return status && status !== "OK" ? `${status}: ${message}` : message;
  return undefined;
}

/** A short description of an error body: the API's message, an HTML page's title, or the text. */
export function describeErrorBody(text: string): string {
  const trimmed = text.trim();
  if (trimmed === "") return "(empty body)";
  try {
    const message = apiErrorMessage(JSON.parse(trimmed));
    if (message) return truncate(collapse(message));
  } catch {
    // not JSON: fall through
  }
  if (isHtml(trimmed)) {
    const title = htmlTitle(trimmed);
    return title ? `HTML page "${truncate(title)}"` : "HTML page";
  }
  return truncate(collapse(trimmed));
}

class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortReason(signal);
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const index = this.waiters.indexOf(grant);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(abortReason(signal as AbortSignal));
      };
      this.waiters.push(grant);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }
}

class TimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
    this.name = "TimeoutError";
  }
}

function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Masks the given secrets in a message. */
function scrub(message: string, secrets: readonly string[]): string {
  return new Masker(secrets).mask(message);
}

function secretValues(url: string, headers: Record<string, string>): string[] {
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === "authorization" || lower.includes("key") || lower.includes("token")) {
      secrets.push(value);
      const bearer = /^\s*\w+\s+(.+)$/.exec(value)?.[1];
      if (bearer) secrets.push(bearer.trim());
    }
  }
  try {
    for (const [name, value] of new URL(url).searchParams) {
      if (SECRET_PARAMS.has(name.toLowerCase()) && value) secrets.push(value);
    }
  } catch {
    // ignore
  }
  return secrets.sort((a, b) => b.length - a.length);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

interface AttemptFailure {
  error: HttpError;
  /** Server-requested wait (429 Retry-After / 503 Retry-After), already capped. */
  retryAfterMs?: number;
  reason: string;
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const base = new URL(options.baseUrl);
  const api = options.api ?? base.host;
  const baseText = options.baseUrl.replace(/\/+$/, "");
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxRetries = Math.max(0, Math.floor(options.maxRetries ?? 3));
  const retryBaseMs = options.retryBaseMs ?? 500;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const clock = options.clock ?? realClock;
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => clock.sleep(ms, signal));
  const random = options.random ?? Math.random;
  const limiter = options.rateLimiter ?? new RateLimiter({ ratePerMinute: options.rateLimit ?? 0, clock });
  const semaphore = new Semaphore(concurrency);
  const baseHeaders: Record<string, string> = {
    accept: "application/json",
    "user-agent": options.userAgent ?? DEFAULT_USER_AGENT,
    ...options.headers,
  };
  const pools = new Map<string, Pool>();
  let requests = 0;
  let retries = 0;
  let closed = false;

  const poolFor = (origin: string): Pool => {
    let pool = pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: concurrency,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        connect: { timeout: timeoutMs },
      });
      pools.set(origin, pool);
    }
    return pool;
  };

  const resolveUrl = (pathOrUrl: string): URL => {
    if (/^https?:\/\//i.test(pathOrUrl)) return new URL(pathOrUrl);
    if (pathOrUrl === "") return new URL(baseText || base.toString());
    return new URL(`${baseText}${pathOrUrl.startsWith("/") ? "" : "/"}${pathOrUrl}`);
  };

  const backoff = (attempt: number): number => {
    const exp = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1));
    // "Equal jitter": half fixed, half random.
    return Math.round(exp / 2 + (exp / 2) * random());
  };

  /** One HTTP attempt: returns the parsed body, or throws an AttemptFailure / the abort reason. */
  const attemptOnce = async (
    url: URL,
    headers: Record<string, string>,
    label: string | undefined,
    attempt: number,
    signal: AbortSignal | undefined,
    secrets: readonly string[],
  ): Promise<unknown> => {
    const redacted = redactUrl(url.toString());
    const what = label ? `${label}: ` : "";
    const fail = (
      message: string,
      retryable: boolean,
      reason: string,
      status?: number,
      cause?: unknown,
      retryAfterMs?: number,
    ): never => {
      const init: HttpErrorInit = { url: redacted, retryable, attempts: attempt };
      if (status !== undefined) init.status = status;
      if (label !== undefined) init.label = label;
      if (cause !== undefined) init.cause = cause;
      const failure: AttemptFailure = { error: new HttpError(scrub(message, secrets), init), reason };
      if (retryAfterMs !== undefined) failure.retryAfterMs = retryAfterMs;
      throw failure;
    };

    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new TimeoutError(timeoutMs)), timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
    requests++;
    let status: number | undefined;
    let text: string;
    let responseHeaders: Record<string, string | string[] | undefined>;
    try {
      const response = await poolFor(url.origin).request({
        path: `${url.pathname}${url.search}`,
        method: "GET",
        headers,
        signal: combined,
      });
      status = response.statusCode;
      responseHeaders = response.headers;
      text = await raceAbort(response.body.text(), combined);
    } catch (err) {
      countHttpRequest(api, signal?.aborted ? "cancelled" : timeout.signal.aborted ? "timeout" : "error");
      if (signal?.aborted) throw abortReason(signal);
      if (timeout.signal.aborted) {
        return fail(
          `${what}request timed out after ${timeoutMs} ms (attempt ${attempt}): GET ${redacted}`,
          true,
          `timeout after ${timeoutMs} ms`,
          status,
          err,
        );
      }
      const code = errorCode(err) ?? "network error";
      const message = err instanceof Error ? err.message : String(err);
      const retryable = RETRYABLE_CODES.has(code) || /socket|reset|closed|terminated/i.test(message);
      return fail(
        `${what}${code === message ? code : `${code} (${message})`} (attempt ${attempt}): GET ${redacted}`,
        retryable,
        code,
        status,
        err,
      );
    } finally {
      clearTimeout(timer);
    }
    countHttpRequest(api, status);

    if (status >= 200 && status < 300) {
      const trimmed = text.trim();
      if (trimmed === "")
        return fail(`${what}empty response body (HTTP ${status}) from GET ${redacted}`, false, "empty");
      try {
        return JSON.parse(trimmed) as unknown;
      } catch (err) {
        if (isHtml(trimmed)) {
          const title = htmlTitle(trimmed);
          return fail(
            `${what}expected JSON but got an HTML page${title ? ` "${truncate(title)}"` : ""} (HTTP ${status}) from GET ${redacted}`,
            false,
            "html",
            status,
          );
        }
        const looksJson = /^[[{]/.test(trimmed);
        const detail = looksJson
          ? `truncated or invalid JSON (${trimmed.length} bytes: ${(err as Error).message})`
          : `response is not JSON: ${truncate(collapse(trimmed), 80)}`;
        return fail(`${what}${detail} (HTTP ${status}) from GET ${redacted}`, false, "bad body", status, err);
      }
    }

    const description = describeErrorBody(text);
    const message = `${what}HTTP ${status} from GET ${redacted}: ${description}`;
    if (status === 429 || status === 503) {
      const after = parseRetryAfter(headerValue(responseHeaders["retry-after"]), clock.now());
      const capped = after === undefined ? undefined : Math.min(after, maxRetryAfterMs);
      return fail(message, true, `HTTP ${status}`, status, undefined, capped);
    }
    if (status >= 500 || status === 408) return fail(message, true, `HTTP ${status}`, status);
    return fail(message, false, `HTTP ${status}`, status);
  };

  const getJson = async <T = unknown>(pathOrUrl: string, opts: GetJsonOptions = {}): Promise<T> => {
    if (closed) throw new Error("HTTP client is closed");
    const { signal, label } = opts;
    let url: URL;
    try {
      url = resolveUrl(pathOrUrl);
    } catch (err) {
      throw new HttpError(`${label ? `${label}: ` : ""}invalid URL ${redactUrl(pathOrUrl)}`, {
        url: pathOrUrl,
        retryable: false,
        attempts: 0,
        ...(label !== undefined ? { label } : {}),
        cause: err,
      });
    }
    const headers = { ...baseHeaders, ...opts.headers };
    const secrets = secretValues(url.toString(), headers);
    for (let attempt = 1; ; attempt++) {
      await semaphore.acquire(signal);
      let failure: AttemptFailure;
      try {
        if (limiter.unlimited) await limiter.acquire(signal);
        else {
          // Real time: the limiter may run on a clock of its own.
          const asked = performance.now();
          await limiter.acquire(signal);
          countHttpWait(api, "rate_limit", performance.now() - asked);
        }
        return (await attemptOnce(url, headers, label, attempt, signal, secrets)) as T;
      } catch (err) {
        if (!(typeof err === "object" && err !== null && "error" in err && err.error instanceof HttpError)) {
          throw err;
        }
        failure = err as AttemptFailure;
      } finally {
        semaphore.release();
      }
      const error = failure.error;
      if (!error.retryable) throw error;
      if (attempt > maxRetries) {
        const final = new HttpError(
          `${error.message.replace(/ \(attempt \d+\)/, "")} — gave up after ${attempt} attempts`,
          {
            url: error.url,
            retryable: true,
            attempts: attempt,
            ...(error.status !== undefined ? { status: error.status } : {}),
            ...(label !== undefined ? { label } : {}),
            cause: error.cause,
          },
        );
        throw final;
      }
      const delayMs = failure.retryAfterMs ?? backoff(attempt);
      retries++;
      countHttpRetry(api);
      const info: RetryInfo = { attempt, maxRetries, delayMs, reason: failure.reason, url: error.url };
      if (error.status !== undefined) info.status = error.status;
      if (label !== undefined) info.label = label;
      options.onRetry?.(info);
      if (delayMs > 0) {
        await sleep(delayMs, signal);
        countHttpWait(api, failure.retryAfterMs === undefined ? "backoff" : "retry_after", delayMs);
      } else if (signal?.aborted) throw abortReason(signal);
    }
  };

  return {
    getJson,
    get requests() {
      return requests;
    },
    get retries() {
      return retries;
    },
    limiter,
    async close() {
      closed = true;
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((pool) => pool.close().catch(() => pool.destroy())));
    },
  };
}
