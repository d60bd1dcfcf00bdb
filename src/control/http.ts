/**
 * The control plane over a daemon's HTTP API (`src/api`): the same calls, the same results
 * (timestamps come back as Dates), the daemon's refusals as the same `ControlError`s.
 */
import type { RunRow } from "../store/index.js";
import {
  ControlError,
  type ControlPlane,
  type DeploymentRow,
  MAX_QUERY_ROWS,
  type QueryResult,
  type RunDetail,
  type RunFilter,
  type RunRequest,
  type WorkPoolRow,
} from "./control-plane.js";

/** Keys whose values the API sends as ISO 8601 strings and the store gives as Dates. */
const TIME_KEYS = new Set(["created_at", "started_at", "ended_at", "ts", "next_run", "scheduled_at"]);

function revive<T>(value: unknown): T {
  if (Array.isArray(value)) return value.map((v) => revive(v)) as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = TIME_KEYS.has(k) && typeof v === "string" ? new Date(v) : Array.isArray(v) ? revive(v) : v;
    }
    return out as T;
  }
  return value as T;
}

/** No daemon answered at the URL (refused, timed out, not HTTP). */
export class DaemonUnreachable extends Error {}

export class HttpControlPlane implements ControlPlane {
  readonly target: { kind: "daemon"; url: string };

  constructor(
    readonly url: string,
    private readonly token: string | undefined,
    private readonly timeoutMs = 30_000,
  ) {
    this.target = { kind: "daemon", url };
  }

  /**
   * One API call: the parsed JSON (timestamps revived as Dates unless `asIs`), or a ControlError
   * carrying the daemon's `{"error": ...}`.
   */
  async call<T>(method: string, path: string, body?: unknown, options: { asIs?: boolean } = {}): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await fetch(new URL(path, this.url), {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const why =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new DaemonUnreachable(`no daemon answers at ${this.url} (${why})`);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === "" ? null : JSON.parse(text);
    } catch {
      throw new DaemonUnreachable(`${this.url} answered ${method} ${path} with something that is not JSON`);
    }
    if (!response.ok) {
      const message = (json as { error?: unknown } | null)?.error;
      throw new ControlError(
        response.status as ControlError["status"],
        typeof message === "string" ? message : `${method} ${path}: HTTP ${response.status}`,
      );
    }
    return options.asIs ? (json as T) : revive<T>(json);
  }

  listRuns(filter: RunFilter = {}) {
    const q = new URLSearchParams({ limit: String(filter.limit ?? 20) });
    for (const key of ["state", "pipeline", "deployment"] as const) {
      const value = filter[key];
      if (value) q.set(key, value);
    }
    if (filter.since) q.set("since", filter.since.toISOString());
    if (filter.upcoming) q.set("upcoming", "true");
    return this.call<RunRow[]>("GET", `/api/runs?${q}`);
  }

  getRun(id: string) {
    return this.call<RunDetail>("GET", `/api/runs/${encodeURIComponent(id)}`);
  }

  runTransitions(id: string) {
    return this.call<Awaited<ReturnType<ControlPlane["runTransitions"]>>>(
      "GET",
      `/api/runs/${encodeURIComponent(id)}/transitions`,
    );
  }

  runLogs(id: string, options: { after?: { ts: Date; seq: number }; limit?: number } = {}) {
    const q = new URLSearchParams();
    if (options.after) {
      q.set("after_ts", options.after.ts.toISOString());
      q.set("after_seq", String(options.after.seq));
    }
    if (options.limit !== undefined) q.set("limit", String(options.limit));
    const query = q.size > 0 ? `?${q}` : "";
    return this.call<Awaited<ReturnType<ControlPlane["runLogs"]>>>(
      "GET",
      `/api/runs/${encodeURIComponent(id)}/logs${query}`,
    );
  }

  cancelRun(id: string) {
    return this.call<Awaited<ReturnType<ControlPlane["cancelRun"]>>>(
      "POST",
      `/api/runs/${encodeURIComponent(id)}/cancel`,
      {},
    );
  }

  retryRun(id: string) {
    return this.call<{ id: string; retry_of: string }>(
      "POST",
      `/api/runs/${encodeURIComponent(id)}/retry`,
      {},
    );
  }

  listDeployments() {
    return this.call<DeploymentRow[]>("GET", "/api/deployments");
  }

  runDeployment(name: string, request: RunRequest = {}) {
    return this.call<{ id: string }>("POST", `/api/deployments/${encodeURIComponent(name)}/runs`, request);
  }

  setDeploymentPaused(name: string, paused: boolean) {
    return this.call<{ name: string; paused: boolean }>(
      "POST",
      `/api/deployments/${encodeURIComponent(name)}/${paused ? "pause" : "resume"}`,
      {},
    );
  }

  backfill(name: string, range: { from: string; to: string; missing: boolean }) {
    return this.call<Awaited<ReturnType<ControlPlane["backfill"]>>>(
      "POST",
      `/api/deployments/${encodeURIComponent(name)}/backfill`,
      range,
    );
  }

  deploy(registration: Parameters<ControlPlane["deploy"]>[0]) {
    return this.call<Awaited<ReturnType<ControlPlane["deploy"]>>>("PUT", "/api/deployments", registration);
  }

  listWorkPools() {
    return this.call<WorkPoolRow[]>("GET", "/api/work-pools");
  }

  setWorkPoolPaused(name: string, paused: boolean) {
    return this.call<{ name: string; paused: boolean }>(
      "POST",
      `/api/work-pools/${encodeURIComponent(name)}/${paused ? "pause" : "resume"}`,
      {},
    );
  }

  query(sql: string, options: { limit?: number } = {}) {
    // Rows are the user's data: a column named like a timestamp stays what the query made it.
    return this.call<QueryResult>("POST", "/api/query", { sql, ...options }, { asIs: true });
  }

  async *queryChunks(sql: string, options: { limit?: number } = {}) {
    const { limit } = options;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_ROWS)) {
      // The API answers one JSON document: every row of a large table is for the database itself.
      throw new ControlError(
        400,
        `the daemon's API returns 1 to ${MAX_QUERY_ROWS} rows, not ${limit === 0 ? "all (0)" : limit}; more need the database without the daemon`,
      );
    }
    yield await this.query(sql, options);
  }

  /** The daemon's health: what it serves and how it is. */
  health() {
    return this.call<{ status: string; version: string; database?: string }>("GET", "/api/health");
  }

  async close(): Promise<void> {}
}
