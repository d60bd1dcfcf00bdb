/**
 * Where `runs ls|show|logs` read the run history: the database (read-only), or the daemon's API
 * when the daemon holds the file (DuckDB lets no other process open it meanwhile).
 */
import { loadSettings } from "../config/settings.js";
import {
  findRun,
  type ListRunsOptions,
  type LogRow,
  listRuns,
  logsOf,
  openStore,
  type RunRow,
  StoreError,
  StoreLockedError,
  type TaskRunRow,
  taskRunsOf,
} from "../store/index.js";
import { ReportedFailure } from "./output.js";

export interface RunHistory {
  listRuns(options: ListRunsOptions): Promise<RunRow[]>;
  findRun(idOrPrefix: string): Promise<RunRow | undefined>;
  taskRunsOf(runId: string): Promise<TaskRunRow[]>;
  logsOf(runId: string): Promise<LogRow[]>;
  close(): Promise<void>;
}

const DATE_KEYS = ["created_at", "started_at", "ended_at", "ts"];

/** JSON from the API with its timestamps as Dates, as the store returns them. */
function revive<T>(value: unknown): T {
  const fix = (row: Record<string, unknown>) => {
    for (const k of DATE_KEYS) if (typeof row[k] === "string") row[k] = new Date(row[k] as string);
    return row;
  };
  return (
    Array.isArray(value)
      ? value.map((r) => fix(r as Record<string, unknown>))
      : fix(value as Record<string, unknown>)
  ) as T;
}

function apiHistory(): RunHistory {
  const settings = loadSettings();
  const get = async (path: string): Promise<unknown> => {
    const headers: Record<string, string> = {};
    if (settings.TICKFLOW_API_TOKEN) headers.authorization = `Bearer ${settings.TICKFLOW_API_TOKEN}`;
    let response: Response;
    try {
      response = await fetch(new URL(path, settings.TICKFLOW_API_URL), {
        headers,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      process.stderr.write(
        `tickflow: the database is held by another process and its API at ${settings.TICKFLOW_API_URL} does not answer (${(err as Error).message})\n`,
      );
      throw new ReportedFailure();
    }
    if (response.status === 404) return undefined;
    if (!response.ok) {
      process.stderr.write(`tickflow: API ${path}: HTTP ${response.status}\n`);
      throw new ReportedFailure();
    }
    return response.json();
  };
  return {
    async listRuns(options) {
      const q = new URLSearchParams({ limit: String(options.limit ?? 20) });
      if (options.state) q.set("state", options.state);
      if (options.pipeline) q.set("pipeline", options.pipeline);
      return revive<RunRow[]>(await get(`/api/runs?${q}`));
    },
    async findRun(id) {
      const run = await get(`/api/runs/${encodeURIComponent(id)}`);
      return run === undefined ? undefined : revive<RunRow>(run);
    },
    async taskRunsOf(runId) {
      const run = (await get(`/api/runs/${encodeURIComponent(runId)}`)) as { tasks?: unknown[] } | undefined;
      return revive<TaskRunRow[]>(run?.tasks ?? []);
    },
    async logsOf(runId) {
      return revive<LogRow[]>((await get(`/api/runs/${encodeURIComponent(runId)}/logs`)) ?? []);
    },
    async close() {},
  };
}

/** The run history of the database at `path`, or of the daemon holding it. */
export async function openRunHistory(path: string): Promise<RunHistory> {
  try {
    const store = await openStore(path, { readOnly: true });
    return {
      listRuns: (o) => listRuns(store.db, o),
      findRun: (id) => findRun(store.db, id),
      taskRunsOf: (id) => taskRunsOf(store.db, id),
      logsOf: (id) => logsOf(store.db, id, {}),
      close: () => store.close(),
    };
  } catch (err) {
    if (err instanceof StoreLockedError) return apiHistory();
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(
      `tickflow: ${err instanceof StoreError ? message : `cannot open database ${path}: ${message}`}\n`,
    );
    throw new ReportedFailure();
  }
}

/** Runs `work` over the history and closes it. */
export async function withRunHistory<T>(path: string, work: (h: RunHistory) => Promise<T>): Promise<T> {
  const history = await openRunHistory(path);
  try {
    return await work(history);
  } finally {
    await history.close();
  }
}
