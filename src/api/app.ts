/**
 * The daemon's HTTP API (SPEC section 7) as a Hono app over a control plane: routes, input checks
 * and the JSON answers, nothing of the daemon's lifecycle. `app.request()` drives it in tests
 * without a server; `serve.ts` puts it on a port.
 *
 * Answers: JSON; errors `{"error": message}` with 400 (bad input), 401, 404, 405 (with `Allow`),
 * 409 (wrong state), 413, 415; timestamps ISO 8601 UTC, integers JSON numbers.
 */
import { timingSafeEqual } from "node:crypto";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { methodNotAllowed } from "hono/method-not-allowed";
import { z } from "zod";
import { assertXnysDate, isValidIsoDate } from "../calendar/index.js";
import { parseSince } from "../config/duration.js";
import {
  type ConsoleViews,
  DEFAULT_COVERAGE_SYMBOLS,
  DEFAULT_SYMBOLS,
  MAX_COVERAGE_SYMBOLS,
  MAX_PAGE_RUNS,
  MAX_SYMBOLS,
} from "../control/console-views.js";
import { ControlError, type ControlPlane, MAX_QUERY_ROWS } from "../control/control-plane.js";
import { storageFault } from "../store/errors.js";
import { RUN_STATES } from "../store/states.js";

export interface ApiOptions {
  control: ControlPlane;
  /** Requests must carry `Authorization: Bearer <token>` when set. */
  token: string | undefined;
  /** `GET /api/health`: the daemon's own state. */
  health(): Promise<Record<string, unknown>>;
  /** `GET /metrics`: Prometheus text. */
  metrics(): Promise<string>;
  /** Told about failures that are ours (answered 500). */
  onError(message: string): void;
  /** Told when a request failed because the database cannot take writes (answered 503). */
  onStorageFault?(message: string): void;
  /** Why state-changing requests are refused now (the database takes no writes), if they are. */
  writesRefused?(): string | undefined;
  /** What the console's pages read (`/api/overview`, `/api/data/...`, ...); absent: those routes answer 404. */
  views?: ConsoleViews;
  /** Whether a `Host` header names this daemon (`isOwnHost`); absent: any will do (tests). */
  ownHost?: (host: string | undefined) => boolean;
  /**
   * Whether state may change through this API (default true). False under `tickflow ui`, which
   * serves a database read-only: state-changing requests are refused with 403, and the overview
   * says so (`OverviewJson.writable`), so the console disables its buttons.
   */
  writable?: boolean;
}

/** The refusal of a state change by `tickflow ui` (403). */
export const READ_ONLY_REFUSAL =
  "read-only console: tickflow ui only reads the database; start tickflow daemon to run, cancel, retry, pause, resume or deploy";

/** POST routes that only read: allowed when the API is not writable. */
const READS_BY_POST = new Set(["/api/query"]);

/** Methods that change state: only as JSON, and only from this daemon's own pages. */
const CHANGES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Largest request body accepted. */
const MAX_BODY_BYTES = 1 << 20;

/** A run id or a prefix of one (`runs show 0190a3`). */
const RUN_ID = /^[0-9a-zA-Z-]{1,64}$/;

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be from ${min} to ${max}`);

const runsQuery = z.strictObject({
  limit: wholeNumber(1, 1000).optional(),
  state: z.enum(RUN_STATES).optional(),
  pipeline: z.string().min(1).optional(),
  deployment: z.string().min(1).optional(),
  since: z
    .string()
    .transform((text, ctx) => {
      const since = parseSince(text, new Date());
      if (since === undefined) {
        ctx.addIssue({
          code: "custom",
          message: "must be a duration (2h, 7d), a date or an ISO 8601 instant",
        });
        return z.NEVER;
      }
      return since;
    })
    .optional(),
  upcoming: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional(),
});

const runsPageQuery = runsQuery.extend({
  limit: wholeNumber(1, MAX_PAGE_RUNS).optional(),
  before: z.string().min(1).max(200).optional(),
});

/** A `YYYY-MM-DD` date the XNYS calendar covers (1990-2100). */
const calendarDate = z.string().refine((s) => {
  if (!isValidIsoDate(s)) return false;
  try {
    assertXnysDate(s);
    return true;
  } catch {
    return false;
  }
}, "must be a date YYYY-MM-DD from 1990 to 2100");

const symbolsQuery = z.strictObject({
  q: z.string().max(100).default(""),
  source: z.string().min(1).optional(),
  limit: wholeNumber(1, MAX_SYMBOLS).default(DEFAULT_SYMBOLS),
});

/** Indicators one chart asks for at most. */
const MAX_CHART_INDICATORS = 32;

const barsQuery = z
  .strictObject({
    from: calendarDate.optional(),
    to: calendarDate.optional(),
    indicators: z
      .string()
      .transform((text) => [...new Set(text.split(",").map((n) => n.trim()))].filter((n) => n !== ""))
      .refine((names) => names.length <= MAX_CHART_INDICATORS, `at most ${MAX_CHART_INDICATORS} names`)
      .default([]),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, "to is before from");

const coverageQuery = z.strictObject({
  source: z.string().min(1).optional(),
  from: calendarDate.optional(),
  to: calendarDate.optional(),
  offset: wholeNumber(0, 1_000_000_000).default(0),
  limit: wholeNumber(1, MAX_COVERAGE_SYMBOLS).default(DEFAULT_COVERAGE_SYMBOLS),
});

const logsQuery = z
  .strictObject({
    after_ts: z
      .string()
      .refine(
        (s) => /^\d{4}-\d\d-\d\dT/.test(s) && !Number.isNaN(Date.parse(s)),
        "must be an ISO 8601 timestamp",
      )
      .optional(),
    after_seq: wholeNumber(0, Number.MAX_SAFE_INTEGER).optional(),
    limit: wholeNumber(1, 100_000).optional(),
  })
  .refine((q) => q.after_seq === undefined || q.after_ts !== undefined, "after_seq needs after_ts");

const runBody = z.strictObject({
  parameters: z.record(z.string(), z.unknown()).optional(),
  parameters_text: z.record(z.string(), z.string()).optional(),
});

const backfillBody = z.strictObject({
  from: z.string().refine(isValidIsoDate, "must be a date YYYY-MM-DD"),
  to: z.string().refine(isValidIsoDate, "must be a date YYYY-MM-DD"),
  missing: z.boolean().default(false),
});

const queryBody = z.strictObject({
  sql: z.string().min(1, "must not be empty"),
  limit: z.number().int().min(1).max(MAX_QUERY_ROWS).optional(),
});

/** `tickflow deploy` through the API: the records the CLI resolved from the files. */
const deployBody = z.strictObject({
  deployments: z.array(z.record(z.string(), z.unknown())),
  pools: z.array(z.record(z.string(), z.unknown())),
  notify: z
    .strictObject({
      channels: z.array(
        z.strictObject({ name: z.string(), type: z.string(), definition: z.record(z.string(), z.unknown()) }),
      ),
      rules: z.array(
        z.strictObject({ event: z.string(), deployment: z.string().nullable(), channel: z.string() }),
      ),
      freshness: z.array(z.record(z.string(), z.unknown())),
    })
    .optional(),
});

const emptyBody = z.strictObject({});

export function createApi(options: ApiOptions): Hono {
  const { control } = options;
  const app = new Hono();
  const views = (): ConsoleViews => {
    if (options.views === undefined) throw new ControlError(404, "the console's views are not served here");
    return options.views;
  };

  app.onError((err, c) => {
    if (err instanceof ControlError) return c.json({ error: err.message }, err.status);
    if (err instanceof HTTPException) return c.json({ error: err.message || "bad request" }, err.status);
    const fault = storageFault(err);
    if (fault !== undefined) {
      options.onStorageFault?.(fault);
      return c.json({ error: `database unusable: ${fault}` }, 503);
    }
    options.onError(`API ${c.req.method} ${c.req.path}: ${err instanceof Error ? err.message : String(err)}`);
    return c.json({ error: "internal error" }, 500);
  });
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));

  app.use(async (c, next) => {
    const foreign = foreignHost(c, options.ownHost);
    if (foreign) return foreign;
    if (!authorised(c.req.header("authorization"), options.token)) {
      c.header("www-authenticate", "Bearer");
      return c.json({ error: "missing or wrong bearer token" }, 401);
    }
    try {
      decodeURIComponent(new URL(c.req.url).pathname);
    } catch {
      return c.json({ error: "malformed path: a % escape that is not UTF-8" }, 400);
    }
    await next();
  });
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        c.json({ error: `${c.req.method} is not allowed here (allowed: ${methods.join(", ")})` }, 405, {
          Allow: methods.join(", "),
        }),
    }),
  );
  app.use(async (c, next) => {
    if (options.writable === false && CHANGES.has(c.req.method) && !READS_BY_POST.has(c.req.path)) {
      return c.json({ error: READ_ONLY_REFUSAL }, 403);
    }
    const refused = CHANGES.has(c.req.method) ? options.writesRefused?.() : undefined;
    if (refused !== undefined) return c.json({ error: `database unusable: ${refused}` }, 503);
    if (CHANGES.has(c.req.method)) {
      // A web page of another origin can send form and text bodies without asking (CORS): not JSON.
      if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
        return c.json({ error: "send state-changing requests as Content-Type: application/json" }, 415);
      }
      const origin = c.req.header("origin");
      if (origin !== undefined && !sameOrigin(origin, c.req.header("host"))) {
        return c.json(
          { error: `requests from ${JSON.stringify(origin)} may not change this daemon's state` },
          403,
        );
      }
    }
    await next();
  });
  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => c.json({ error: `request body over ${MAX_BODY_BYTES} bytes` }, 413),
  });
  // Only requests with a body: reading `body` of a GET makes the node adapter build a full Request
  // with an abort signal whose listeners outlive it (10,000 GETs kept 40 MB).
  app.use((c, next) => (CHANGES.has(c.req.method) ? limitBody(c, next) : next()));

  app.get("/metrics", async (c) =>
    c.body(await options.metrics(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }),
  );
  app.get("/api/health", async (c) => {
    const health = await options.health();
    return c.json(health, health.status === "database unusable" ? 503 : 200);
  });

  app.get("/api/runs", async (c) => {
    const q = parse(runsQuery, c.req.query(), "query");
    return c.json(await control.listRuns({ ...q, limit: q.limit ?? 50 }));
  });
  // Before `/api/runs/:id`, which would take "page" for a run id.
  app.get("/api/runs/page", async (c) => {
    const q = parse(runsPageQuery, c.req.query(), "query");
    return c.json(await views().runsPage({ ...q, limit: q.limit ?? 50 }));
  });
  app.get("/api/runs/:id/graph", async (c) => {
    const run = await control.getRun(runId(c));
    return c.json(await views().pipelineGraph(run.pipeline_file));
  });
  app.get("/api/runs/:id/notifications", async (c) => {
    const run = await control.getRun(runId(c));
    return c.json(await views().runNotifications(run.id));
  });
  app.get("/api/runs/:id", async (c) => c.json(await control.getRun(runId(c))));
  app.get("/api/runs/:id/transitions", async (c) => c.json(await control.runTransitions(runId(c))));
  app.get("/api/runs/:id/logs", async (c) => {
    const q = parse(logsQuery, c.req.query(), "query");
    return c.json(
      await control.runLogs(runId(c), {
        ...(q.after_ts ? { after: { ts: new Date(q.after_ts), seq: q.after_seq ?? 0 } } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
      }),
    );
  });
  app.post("/api/runs/:id/cancel", async (c) => {
    await body(c, emptyBody);
    return c.json(await control.cancelRun(runId(c)), 202);
  });
  app.post("/api/runs/:id/retry", async (c) => {
    await body(c, emptyBody);
    return c.json(await control.retryRun(runId(c)), 201);
  });

  app.get("/api/deployments", async (c) => c.json(await control.listDeployments()));
  app.get("/api/deployments/:name", async (c) => c.json(await views().deployment(name(c))));
  app.put("/api/deployments", async (c) => {
    const registration = await body(c, deployBody);
    return c.json(await control.deploy(registration as unknown as Parameters<ControlPlane["deploy"]>[0]));
  });
  app.post("/api/deployments/:name/runs", async (c) => {
    const request = await body(c, runBody);
    return c.json(await control.runDeployment(name(c), request), 201);
  });
  app.post("/api/deployments/:name/backfill", async (c) => {
    const range = await body(c, backfillBody);
    if (range.to < range.from)
      throw new ControlError(400, `"to" (${range.to}) is before "from" (${range.from})`);
    return c.json(await control.backfill(name(c), range), 201);
  });
  for (const [verb, paused] of [
    ["pause", true],
    ["resume", false],
  ] as const) {
    app.post(`/api/deployments/:name/${verb}`, async (c) => {
      await body(c, emptyBody);
      return c.json(await control.setDeploymentPaused(name(c), paused));
    });
    app.post(`/api/work-pools/:name/${verb}`, async (c) => {
      await body(c, emptyBody);
      return c.json(await control.setWorkPoolPaused(name(c), paused));
    });
  }
  app.get("/api/work-pools", async (c) => c.json(await control.listWorkPools()));
  app.get("/api/work-pools/:name/queued", async (c) => c.json(await views().workPoolQueue(name(c))));

  app.get("/api/overview", async (c) =>
    c.json({ ...(await views().overview()), writable: options.writable ?? true }),
  );
  app.get("/api/data/symbols", async (c) => {
    const q = parse(symbolsQuery, c.req.query(), "query");
    return c.json(await views().symbols(q.source === undefined ? { q: q.q, limit: q.limit } : q));
  });
  app.get("/api/data/:source/:symbol/bars", async (c) => {
    const q = parse(barsQuery, c.req.query(), "query");
    return c.json(
      await views().bars(c.req.param("source"), c.req.param("symbol"), {
        ...(q.from !== undefined ? { from: q.from } : {}),
        ...(q.to !== undefined ? { to: q.to } : {}),
        indicators: q.indicators,
      }),
    );
  });
  app.get("/api/data/:source/:symbol/events", async (c) =>
    c.json(await views().symbolEvents(c.req.param("source"), c.req.param("symbol"))),
  );
  app.get("/api/coverage", async (c) => {
    const q = parse(coverageQuery, c.req.query(), "query");
    return c.json(
      await views().coverage({
        offset: q.offset,
        limit: q.limit,
        ...(q.source !== undefined ? { source: q.source } : {}),
        ...(q.from !== undefined ? { from: q.from } : {}),
        ...(q.to !== undefined ? { to: q.to } : {}),
      }),
    );
  });
  app.post("/api/query", async (c) => {
    const { sql, limit } = await body(c, queryBody);
    return c.json(await control.query(sql, limit === undefined ? {} : { limit }));
  });
  return app;
}

/**
 * The 403 for a request whose `Host` is not one of this daemon's names (DNS rebinding: a page of
 * another site whose name now points here), or undefined when it is (or `ownHost` is absent).
 */
export function foreignHost(
  c: Context,
  ownHost: ((host: string | undefined) => boolean) | undefined,
): Response | undefined {
  const host = c.req.header("host");
  if (!ownHost || ownHost(host)) return undefined;
  return c.json(
    {
      error: `Host ${JSON.stringify(host ?? "")} is not this daemon's address (list other names in TICKFLOW_API_HOSTS)`,
    },
    403,
  );
}

/** `values` checked by `schema`; a 400 naming the field otherwise. */
function parse<T extends z.ZodType>(schema: T, values: unknown, what: string): z.output<T> {
  const result = schema.safeParse(values);
  if (result.success) return result.data;
  const why = result.error.issues
    .map((issue) => {
      const field = issue.path.join(".");
      return field ? `${field}: ${issue.message}` : issue.message;
    })
    .join("; ");
  throw new ControlError(400, `${what}: ${why}`);
}

/** The JSON object of the request body (an empty body counts as `{}`), checked by `schema`. */
async function body<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T>> {
  const text = await c.req.text();
  let value: unknown = {};
  if (text.trim() !== "") {
    if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
      throw new HTTPException(415, { message: "send the request body as Content-Type: application/json" });
    }
    try {
      value = JSON.parse(text);
    } catch {
      throw new ControlError(400, "request body is not JSON");
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ControlError(400, "request body must be a JSON object");
  }
  return parse(schema, value, "body");
}

function runId(c: Context): string {
  const id = c.req.param("id") ?? "";
  if (!RUN_ID.test(id)) throw new ControlError(400, `not a run id: ${JSON.stringify(id)}`);
  return id;
}

/** A deployment's or work pool's name: any text (one that names nothing is a 404). */
function name(c: Context): string {
  return c.req.param("name") ?? "";
}

/** An `Origin` header naming the host the request was sent to (the daemon's own pages). */
function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    const url = new URL(origin);
    return (
      (url.protocol === "http:" || url.protocol === "https:") &&
      host !== undefined &&
      url.host === host.toLowerCase()
    );
  } catch {
    return false;
  }
}

/** The bearer token check (the scheme is case-insensitive, RFC 9110), in constant time. */
function authorised(header: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const match = /^bearer\s+(.+)$/i.exec(header ?? "");
  const given = Buffer.from(match?.[1]?.trim() ?? "");
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
