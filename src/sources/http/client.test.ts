import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FaultServer, startFaultServer } from "../../../tests/servers/fault-server.js";
import {
  createHttpClient,
  describeErrorBody,
  type HttpClient,
  type HttpClientOptions,
  HttpError,
  parseRetryAfter,
  type RetryInfo,
  redactUrl,
} from "./client.js";

const KEY = "sEcReTkEy123456";

let server: FaultServer;
const clients: HttpClient[] = [];

beforeEach(async () => {
  server = await startFaultServer();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server.close();
});

function client(overrides: Partial<HttpClientOptions> = {}, retries?: RetryInfo[]): HttpClient {
  const c = createHttpClient({
    baseUrl: server.origin,
    concurrency: 2,
    rateLimit: 0,
    timeoutMs: 2_000,
    maxRetries: 3,
    retryBaseMs: 5,
    retryMaxMs: 20,
    maxRetryAfterMs: 50,
    headers: { authorization: `Bearer ${KEY}` },
    ...(retries ? { onRetry: (info: RetryInfo) => retries.push(info) } : {}),
    ...overrides,
  });
  clients.push(c);
  return c;
}

async function failure(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    return err as HttpError;
  }
  throw new Error("expected the request to fail");
}

describe("createHttpClient", () => {
  it("gets JSON over one keep-alive connection, sending headers and user agent", async () => {
    for (let i = 0; i < 3; i++) server.queue("/v1/ok", { kind: "json", body: { n: i } });
    const c = client({ userAgent: "tickflow-test/1", concurrency: 1 });
    for (let i = 0; i < 3; i++) {
      expect(await c.getJson("/v1/ok?x=1", { label: "AAPL" })).toEqual({ n: i });
    }
    expect(server.connections).toBe(1);
    expect(new Set(server.requests.map((r) => r.connection))).toEqual(new Set([0]));
    expect(c.requests).toBe(3);
    const first = server.requests[0];
    expect(first?.method).toBe("GET");
    expect(first?.url).toBe("/v1/ok?x=1");
    expect(first?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(first?.headers["user-agent"]).toBe("tickflow-test/1");
  });

  it("reuses keep-alive connections for sequential requests at concurrency 2", async () => {
    for (let i = 0; i < 8; i++) server.queue("/v1/ok", { kind: "json", body: { n: i } });
    const c = client({ concurrency: 2 });
    for (let i = 0; i < 8; i++) expect(await c.getJson("/v1/ok")).toEqual({ n: i });
    expect(server.connections).toBeLessThanOrEqual(2);
  });

  it("accepts absolute URLs (e.g. next_url)", async () => {
    server.queue("/next", { kind: "json", body: { ok: true } });
    const c = client({ baseUrl: "http://127.0.0.1:1" });
    expect(await c.getJson(`${server.origin}/next?cursor=abc`)).toEqual({ ok: true });
  });

  it("retries a 429 honouring Retry-After (capped) until success", async () => {
    server.queue(
      "/limited",
      { kind: "status", status: 429, headers: { "retry-after": "0" }, body: "slow down" },
      { kind: "status", status: 429, headers: { "retry-after": "120" }, body: "slow down" },
      { kind: "json", body: { ok: 1 } },
    );
    const retries: RetryInfo[] = [];
    const c = client({}, retries);
    const started = Date.now();
    expect(await c.getJson("/limited", { label: "MSFT" })).toEqual({ ok: 1 });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(c.requests).toBe(3);
    expect(retries.map((r) => [r.status, r.delayMs])).toEqual([
      [429, 0],
      [429, 50],
    ]);
    expect(retries[0]?.label).toBe("MSFT");
  });

  it("retries a 500 then succeeds", async () => {
    server.queue(
      "/flaky",
      { kind: "json", status: 500, body: { status: "ERROR", error: "internal" } },
      { kind: "status", status: 503 },
      { kind: "json", body: [1, 2, 3] },
    );
    const retries: RetryInfo[] = [];
    const c = client({}, retries);
    expect(await c.getJson("/flaky")).toEqual([1, 2, 3]);
    expect(server.requestsTo("/flaky")).toHaveLength(3);
    expect(retries.map((r) => r.reason)).toEqual(["HTTP 500", "HTTP 503"]);
    for (const r of retries) expect(r.delayMs).toBeLessThanOrEqual(20);
  });

  it("gives up on persistent 5xx after maxRetries", async () => {
    for (let i = 0; i < 5; i++)
      server.queue("/down", { kind: "html", status: 502, title: "502 Bad Gateway" });
    const c = client({ maxRetries: 2 });
    const err = await failure(c.getJson("/down", { label: "IBM" }));
    expect(err.status).toBe(502);
    expect(err.attempts).toBe(3);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain("IBM");
    expect(err.message).toContain('HTML page "502 Bad Gateway"');
    expect(err.message).toContain("gave up after 3 attempts");
    expect(server.requestsTo("/down")).toHaveLength(3);
  });

  it("retries a connection reset", async () => {
    server.queue(
      "/reset",
      { kind: "reset" },
      { kind: "reset", afterHeaders: true },
      { kind: "json", body: { ok: true } },
    );
    const retries: RetryInfo[] = [];
    const c = client({}, retries);
    expect(await c.getJson("/reset")).toEqual({ ok: true });
    expect(server.requestsTo("/reset")).toHaveLength(3);
    expect(retries).toHaveLength(2);
  });

  it("retries a stall past the timeout, then fails with a clear error after maxRetries", async () => {
    for (let i = 0; i < 3; i++) server.queue("/stall", { kind: "stall" });
    const retries: RetryInfo[] = [];
    const c = client({ timeoutMs: 200, maxRetries: 2 }, retries);
    const started = Date.now();
    const err = await failure(c.getJson(`/stall?apiKey=${KEY}`, { label: "TSLA" }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(err.attempts).toBe(3);
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/TSLA: request timed out after 200 ms: GET http:\/\/127\.0\.0\.1:\d+\/stall/);
    expect(err.message).toContain("gave up after 3 attempts");
    expect(err.message).not.toContain(KEY);
    expect(retries.map((r) => r.reason)).toEqual(["timeout after 200 ms", "timeout after 200 ms"]);
    expect(server.requestsTo("/stall")).toHaveLength(3);
  });

  it("a stall that answers within the timeout succeeds", async () => {
    server.queue("/slow", { kind: "stall", ms: 50, respond: { kind: "json", body: { late: true } } });
    expect(await client({ timeoutMs: 1_000 }).getJson("/slow")).toEqual({ late: true });
  });

  it("fails a 403 at once with Polygon's own message", async () => {
    server.queue("/v2/aggs", {
      kind: "json",
      status: 403,
      body: {
        status: "NOT_AUTHORIZED",
        request_id: "abc",
        message: "You are not entitled to this data. Please upgrade your plan.",
      },
    });
    const c = client();
    const err = await failure(c.getJson("/v2/aggs", { label: "AAPL" }));
    expect(err.status).toBe(403);
    expect(err.retryable).toBe(false);
    expect(err.attempts).toBe(1);
    expect(err.message).toContain("AAPL");
    expect(err.message).toContain("HTTP 403");
    expect(err.message).toContain(
      "NOT_AUTHORIZED: You are not entitled to this data. Please upgrade your plan.",
    );
    expect(c.requests).toBe(1);
    expect(server.requestsTo("/v2/aggs")).toHaveLength(1);
  });

  it("fails a 400 with Polygon's ERROR body", async () => {
    server.queue("/bad", {
      kind: "json",
      status: 400,
      body: { status: "ERROR", error: "Could not parse date" },
    });
    const err = await failure(client().getJson("/bad"));
    expect(err.message).toContain("ERROR: Could not parse date");
  });

  it("fails a 404 with Yahoo's chart error description", async () => {
    server.queue("/v8/finance/chart/NOPE", {
      kind: "json",
      status: 404,
      body: {
        chart: {
          result: null,
          error: { code: "Not Found", description: "No data found, symbol may be delisted" },
        },
      },
    });
    const err = await failure(client().getJson("/v8/finance/chart/NOPE", { label: "NOPE" }));
    expect(err.status).toBe(404);
    expect(err.attempts).toBe(1);
    expect(err.message).toContain("NOPE: HTTP 404");
    expect(err.message).toContain("No data found, symbol may be delisted");
  });

  it("uses Yahoo's finance error and plain-text bodies", async () => {
    server.queue("/f", {
      kind: "json",
      status: 401,
      body: { finance: { result: null, error: { code: "Unauthorized", description: "Invalid Crumb" } } },
    });
    server.queue("/t", { kind: "text", status: 418, body: `${"x".repeat(300)}` });
    const c = client();
    expect((await failure(c.getJson("/f"))).message).toContain("Unauthorized: Invalid Crumb");
    const plain = await failure(c.getJson("/t"));
    expect(plain.message).toContain(`${"x".repeat(200)}…`);
    expect(plain.message).not.toContain("x".repeat(201));
  });

  it("names label and URL for truncated JSON, non-JSON, empty and HTML bodies", async () => {
    server.queue("/trunc", { kind: "truncated" });
    server.queue("/notjson", { kind: "text", body: "hello world" });
    server.queue("/empty", { kind: "text", body: "" });
    server.queue("/html", { kind: "html", status: 200, title: "Service Unavailable - Zero size object" });
    const c = client();
    const cases: Array<[string, RegExp]> = [
      ["/trunc", /truncated or invalid JSON/],
      ["/notjson", /not JSON: hello world/],
      ["/empty", /empty response body/],
      ["/html", /HTML page "Service Unavailable - Zero size object"/],
    ];
    for (const [path, pattern] of cases) {
      const err = await failure(c.getJson(`${path}?apiKey=${KEY}&from=2024-01-02`, { label: "GOOG" }));
      expect(err.message).toMatch(pattern);
      expect(err.message).toContain("GOOG");
      expect(err.message).toContain(`${server.origin}${path}?from=2024-01-02`);
      expect(err.message).not.toContain(KEY);
      expect(err.url).toBe(`${server.origin}${path}?from=2024-01-02`);
      expect(err.retryable).toBe(false);
      expect(err.attempts).toBe(1);
    }
  });

  it("redacts a key in the query string from every error and retry log", async () => {
    server.queue("/k1", {
      kind: "json",
      status: 401,
      body: { status: "ERROR", error: `Unknown API Key ${KEY}` },
    });
    server.queue("/k2", { kind: "status", status: 500 }, { kind: "status", status: 500 });
    server.queue("/k3", { kind: "reset" }, { kind: "reset" });
    const retries: RetryInfo[] = [];
    const c = client({ maxRetries: 1 }, retries);
    const errors = [
      await failure(c.getJson(`/k1?apiKey=${KEY}`)),
      await failure(c.getJson(`/k2?apikey=${KEY}&x=1`)),
      await failure(c.getJson(`/k3?api_key=${KEY}&token=${KEY}`)),
    ];
    for (const err of errors) {
      expect(err.message).not.toContain(KEY);
      expect(err.url).not.toContain(KEY);
      expect(String(err.stack)).not.toContain(KEY);
      expect(err.message).not.toMatch(/authorization|bearer/i);
    }
    expect(errors[0]?.message).toContain("Unknown API Key ***");
    for (const r of retries) expect(JSON.stringify(r)).not.toContain(KEY);
    expect(retries).toHaveLength(2);
    expect(server.requests.filter((r) => r.url.includes(KEY))).toHaveLength(5);
  });

  it("respects the concurrency cap", async () => {
    server.handle("/slow", () => ({ kind: "json", body: { ok: true }, delayMs: 40 }));
    const c = client({ concurrency: 3 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => c.getJson(`/slow?i=${i}`)));
    expect(results).toHaveLength(10);
    expect(server.maxInFlight).toBe(3);
    expect(server.connections).toBeLessThanOrEqual(3);
  });

  it("aborts via signal while waiting on the server, without retrying", async () => {
    server.queue("/hang", { kind: "stall" });
    const retries: RetryInfo[] = [];
    const c = client({ timeoutMs: 5_000 }, retries);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("run cancelled")), 50);
    await expect(c.getJson("/hang", { signal: controller.signal })).rejects.toThrow("run cancelled");
    expect(retries).toHaveLength(0);
    expect(c.requests).toBe(1);
  });

  it("aborts while waiting for the rate limiter", async () => {
    server.queue("/one", { kind: "json", body: 1 });
    const c = client({ rateLimit: 1 });
    expect(await c.getJson("/one")).toBe(1);
    const controller = new AbortController();
    const pending = c.getJson("/two", { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("stop")), 20);
    await expect(pending).rejects.toThrow("stop");
    expect(c.requests).toBe(1);
  });

  it("aborts during a retry backoff", async () => {
    server.queue("/busy", { kind: "status", status: 503, headers: { "retry-after": "30" } });
    const c = client({ maxRetryAfterMs: 60_000 });
    const controller = new AbortController();
    const pending = c.getJson("/busy", { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("cancelled in backoff")), 100);
    await expect(pending).rejects.toThrow("cancelled in backoff");
    expect(c.requests).toBe(1);
  });
});

describe("helpers", () => {
  it("redactUrl strips secret query parameters and credentials", () => {
    expect(redactUrl("https://api.polygon.io/v2/aggs?adjusted=true&apiKey=abc&limit=5")).toBe(
      "https://api.polygon.io/v2/aggs?adjusted=true&limit=5",
    );
    expect(redactUrl("https://x.test/a?APIKEY=1&api_key=2&Token=3")).toBe("https://x.test/a");
    expect(redactUrl("https://user:pw@x.test/a?q=1")).toBe("https://x.test/a?q=1");
    expect(redactUrl("/relative?apiKey=abc&x=1")).toBe("/relative?x=1");
  });

  it("parseRetryAfter reads seconds and HTTP dates", () => {
    const now = Date.parse("2024-05-01T12:00:00Z");
    expect(parseRetryAfter("0", now)).toBe(0);
    expect(parseRetryAfter("12", now)).toBe(12_000);
    expect(parseRetryAfter("Wed, 01 May 2024 12:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 01 May 2024 11:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it("describeErrorBody picks the API message, HTML title or text", () => {
    expect(describeErrorBody('{"status":"NOT_AUTHORIZED","message":"no"}')).toBe("NOT_AUTHORIZED: no");
    expect(describeErrorBody('{"chart":{"error":{"description":"gone"}}}')).toBe("gone");
    expect(describeErrorBody("<html><head><title> Oops </title></head></html>")).toBe('HTML page "Oops"');
    expect(describeErrorBody("  plain\n text ")).toBe("plain text");
    expect(describeErrorBody("")).toBe("(empty body)");
  });
});
