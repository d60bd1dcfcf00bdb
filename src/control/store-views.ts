/**
 * The console's views (`ConsoleViews`) over either backend: the store's small read functions,
 * put together into the contract's JSON. Only the reads differ per backend (`ConsoleReads`:
 * DuckDB's in `local-views.ts`, PostgreSQL's in `pg-views.ts`); everything else (limits, cursors,
 * schedules explained, freshness against the calendar, the coverage grid, errors) is here, once.
 * Nothing here writes, so a read-only store serves it as well.
 */
import type {
  BarsJson,
  CoverageJson,
  DeploymentDetailJson,
  FreshnessJson,
  OverviewJson,
  ParameterDeclarationJson,
  RunGraphJson,
  RunJson,
  RunNotificationJson,
  RunsPageJson,
  WorkPoolJson,
} from "../api/console-contract.js";
import {
  closureReason,
  countSessions,
  isSession,
  previousSession,
  sessionCloseInstant,
  sessionOnOrBefore,
  xnysDate,
} from "../calendar/index.js";
import { formatDiagnostic } from "../config/diagnostics.js";
import { needsOf } from "../pipeline/document.js";
import { loadPipeline } from "../pipeline/load.js";
import type { DeploymentDocument, ScheduleDocument } from "../schedule/deployments-file.js";
import { describeSchedule } from "../schedule/describe.js";
import { explainDeployment } from "../schedule/explain.js";
import { builtinSteps } from "../steps/index.js";
import type { BarColumns } from "../store/bar-columns.js";
import type { CoverageRow } from "../store/coverage.js";
import type { DeploymentRow, WorkPoolRow } from "../store/deployments.js";
import type { SourceExtent } from "../store/freshness.js";
import type { RunNotificationRow } from "../store/notify-outbox.js";
import type { QualitySummary } from "../store/quality-summary.js";
import type { ListRunsOptions, RunKey, RunRow, RunsPage } from "../store/runs.js";
import type { ScheduleRow } from "../store/schedules.js";
import type { RunState } from "../store/states.js";
import type { SymbolEvents } from "../store/symbol-events.js";
import type { SymbolRow } from "../store/symbols.js";
import {
  type ConsoleViews,
  DEFAULT_COVERAGE_DAYS,
  MAX_COVERAGE_DAYS,
  MAX_QUEUED_RUNS,
  MAX_SYMBOL_FINDINGS,
  RECENT_RUNS,
  type RunsPageFilter,
  SCHEDULE_FIRES,
} from "./console-views.js";
import { ControlError } from "./control-plane.js";

/** The reads the views are made of, one per store query, the same on both backends. */
export interface ConsoleReads {
  runsPage(options: ListRunsOptions): Promise<RunsPage>;
  listRuns(options: ListRunsOptions): Promise<RunRow[]>;
  runNotifications(runId: string): Promise<RunNotificationRow[]>;
  findDeployment(name: string): Promise<DeploymentRow | undefined>;
  schedulesOf(deployment: string): Promise<ScheduleRow[]>;
  listWorkPools(now: Date): Promise<WorkPoolRow[]>;
  queuedRunsOf(pool: string, now: Date, limit: number): Promise<RunRow[]>;
  runCountsByState(since: Date, now: Date): Promise<Partial<Record<RunState, number>>>;
  /** Seconds past the freshness deadline per source with a rule (nothing enqueued). */
  overdueSeconds(now: Date): Promise<Map<string, number>>;
  sourceExtents(): Promise<SourceExtent[]>;
  latestQualitySummary(): Promise<QualitySummary>;
  findSymbols(options: { q: string; source?: string; limit: number }): Promise<SymbolRow[]>;
  unknownIndicators(wanted: readonly string[]): Promise<string[]>;
  barColumns(
    source: string,
    symbol: string,
    options: { from?: string; to?: string; indicators: readonly string[] },
  ): Promise<BarColumns>;
  hasBars(source: string, symbol: string): Promise<boolean>;
  symbolEvents(source: string, symbol: string, maxQuality: number): Promise<SymbolEvents>;
  coverageRows(options: {
    source: string;
    from: string;
    to: string;
    offset: number;
    limit: number;
  }): Promise<{ total: number; rows: CoverageRow[] }>;
}

/**
 * Runs `fn` with the backend's reads: DuckDB's under the shared connection's lock (reads take
 * turns with the scheduler and other requests), PostgreSQL's on the pool.
 */
export type ConsoleReading = <T>(fn: (reads: ConsoleReads) => Promise<T>) => Promise<T>;

const DAY_MS = 86_400_000;

export class StoreConsoleViews implements ConsoleViews {
  private readonly now: () => Date;

  /** `read`: the backend's reads (see `ConsoleReading`); `now`: the clock (tests). */
  constructor(
    private readonly read: ConsoleReading,
    now?: () => Date,
  ) {
    this.now = now ?? (() => new Date());
  }

  async runsPage(filter: RunsPageFilter): Promise<RunsPageJson> {
    const limit = filter.limit ?? 50;
    const when = filter.upcoming ? "upcoming" : "ran";
    const after = filter.before === undefined ? undefined : decodeCursor(filter.before, when);
    const page = await this.read((reads) =>
      reads.runsPage({
        limit,
        ...(filter.state ? { state: filter.state } : {}),
        ...(filter.pipeline ? { pipeline: filter.pipeline } : {}),
        ...(filter.deployment ? { deployment: filter.deployment } : {}),
        ...(filter.since ? { since: filter.since } : {}),
        ...(after ? { after } : {}),
        when,
        now: this.now(),
      }),
    );
    return { runs: page.rows.map(runJson), next: page.next === null ? null : encodeCursor(page.next, when) };
  }

  async runNotifications(runId: string): Promise<RunNotificationJson[]> {
    const rows = await this.read((reads) => reads.runNotifications(runId));
    return rows.map((r) => ({
      ...r,
      created_at: r.created_at.toISOString(),
      next_attempt_at: r.next_attempt_at.toISOString(),
      delivered_at: r.delivered_at?.toISOString() ?? null,
      failed_at: r.failed_at?.toISOString() ?? null,
    }));
  }

  async pipelineGraph(pipelineFile: string | null): Promise<RunGraphJson> {
    if (pipelineFile === null) {
      return { available: false, reason: "the run does not say which pipeline file it ran", nodes: [] };
    }
    const loaded = await loadPipeline(pipelineFile, builtinSteps, { withDefaults: false });
    if (!loaded.doc)
      return { available: false, reason: loadProblem(loaded.diagnostics, pipelineFile), nodes: [] };
    return {
      available: true,
      reason: null,
      nodes: Object.entries(loaded.doc.tasks).map(([id, task]) => ({
        id,
        step: task.uses,
        needs: needsOf(task),
        for_each: task.for_each !== undefined,
      })),
    };
  }

  async deployment(name: string): Promise<DeploymentDetailJson> {
    const now = this.now();
    const found = await this.read(async (reads) => {
      const deployment = await reads.findDeployment(name);
      if (!deployment) return undefined;
      return {
        deployment,
        schedules: await reads.schedulesOf(name),
        recent: await reads.listRuns({ deployment: name, when: "ran", now, limit: RECENT_RUNS }),
      };
    });
    if (!found) throw new ControlError(404, `no deployment named ${JSON.stringify(name)}`);
    const { deployment, schedules, recent } = found;
    const explained = schedules.map((row) => {
      const schedule = { ...row.definition, active: row.active } as ScheduleDocument;
      const base = {
        index: row.position + 1,
        id: row.id,
        description: describeSchedule(schedule),
        paused: row.paused,
      };
      try {
        const doc = { name, pipeline: deployment.pipeline_file, schedules: [schedule] } as DeploymentDocument;
        const [s] = explainDeployment(doc, now, SCHEDULE_FIRES).schedules;
        return { ...s!, ...base };
      } catch (err) {
        return {
          ...base,
          trigger: String(row.definition.cron ?? row.definition.rrule ?? row.definition.interval ?? ""),
          timezone: String(row.definition.timezone ?? "UTC"),
          calendar: typeof row.definition.calendar === "string" ? row.definition.calendar : null,
          active: row.active,
          fires: [],
          skipped: [{ at: now.toISOString(), local: "", reason: `cannot compute: ${errorText(err)}` }],
        };
      }
    });
    const loaded = await loadPipeline(deployment.pipeline_file, builtinSteps, { withDefaults: false });
    return {
      ...deploymentJson(deployment),
      schedules: explained,
      parameter_declarations: (loaded.doc?.parameters ?? {}) as Record<string, ParameterDeclarationJson>,
      pipeline_error: loaded.doc ? null : loadProblem(loaded.diagnostics, deployment.pipeline_file),
      recent_runs: recent.map(runJson),
    };
  }

  async workPoolQueue(name: string): Promise<WorkPoolJson> {
    const now = this.now();
    const found = await this.read(async (reads) => {
      const pool = (await reads.listWorkPools(now)).find((p) => p.name === name);
      return (
        pool && { ...pool, queued_runs: (await reads.queuedRunsOf(name, now, MAX_QUEUED_RUNS)).map(runJson) }
      );
    });
    if (!found) throw new ControlError(404, `no work pool named ${JSON.stringify(name)}`);
    return found;
  }

  async overview(): Promise<Omit<OverviewJson, "writable">> {
    const now = this.now();
    const since = new Date(now.getTime() - DAY_MS);
    return this.read(async (reads) => {
      const overdue = await reads.overdueSeconds(now);
      return {
        now: now.toISOString(),
        runs_24h: await reads.runCountsByState(since, now),
        attention: (
          await reads.listRuns({ states: ["Failed", "Crashed", "Late"], since, when: "ran", now, limit: 20 })
        ).map(runJson),
        next_runs: (await reads.listRuns({ when: "upcoming", now, limit: 10 })).map(runJson),
        freshness: (await reads.sourceExtents()).map((e) => ({
          ...freshness(e, now),
          overdue_seconds: overdue.get(e.source) ?? null,
        })),
        quality: await reads.latestQualitySummary(),
        pools: await reads.listWorkPools(now),
      };
    });
  }

  symbols(options: { q: string; source?: string; limit: number }) {
    return this.read((reads) => reads.findSymbols(options));
  }

  async bars(
    source: string,
    symbol: string,
    options: { from?: string; to?: string; indicators: string[] },
  ): Promise<BarsJson> {
    return this.read(async (reads) => {
      const unknown = await reads.unknownIndicators(options.indicators);
      if (unknown.length > 0) {
        throw new ControlError(
          400,
          `indicators: no indicator named ${unknown.map((n) => JSON.stringify(n)).join(", ")}`,
        );
      }
      const bars = await reads.barColumns(source, symbol, options);
      if (bars.date.length === 0 && !(await reads.hasBars(source, symbol))) throw noBars(source, symbol);
      const { available, ...columns } = bars;
      return { source, symbol, ...columns, available_indicators: available };
    });
  }

  async symbolEvents(source: string, symbol: string) {
    return this.read(async (reads) => {
      if (!(await reads.hasBars(source, symbol))) throw noBars(source, symbol);
      return reads.symbolEvents(source, symbol, MAX_SYMBOL_FINDINGS);
    });
  }

  async coverage(options: {
    source?: string;
    from?: string;
    to?: string;
    offset: number;
    limit: number;
  }): Promise<CoverageJson> {
    return this.read(async (reads) => {
      const extents = await reads.sourceExtents();
      const sources = extents.map((e) => e.source);
      const source = options.source ?? sources[0];
      if (source !== undefined && !sources.includes(source))
        throw new ControlError(404, `no bars of source ${JSON.stringify(source)}`);
      // By default the range ends at the source's latest bar (today at the latest): a source whose
      // bars stop in the past still shows its last year, not a grid of days after its end.
      const today = xnysDate(this.now());
      const latest = extents.find((e) => e.source === source)?.latest ?? today;
      // biome-ignore lint/complexity/useMathMinMax: dates as YYYY-MM-DD strings, compared as text
      const to = options.to ?? (latest < today ? latest : today);
      const from = options.from ?? weekdaysBack(to, DEFAULT_COVERAGE_DAYS);
      if (to < from) throw new ControlError(400, `query: to (${to}) is before from (${from})`);
      const days = weekdays(from, to, MAX_COVERAGE_DAYS + 1);
      if (days.length > MAX_COVERAGE_DAYS) {
        throw new ControlError(
          400,
          `query: from ${from} to ${to} is more than ${MAX_COVERAGE_DAYS} weekdays`,
        );
      }
      if (source === undefined) {
        return {
          source: "",
          from,
          to,
          days: dayColumns(days),
          symbols: [],
          total: 0,
          offset: options.offset,
          sources,
        };
      }
      const { total, rows } = await reads.coverageRows({
        source,
        from,
        to,
        offset: options.offset,
        limit: options.limit,
      });
      const columns = dayColumns(days);
      // Day offsets after `from` (calendar days) -> the weekday's column.
      const fromMs = Date.parse(`${from}T00:00:00Z`);
      const columnOf = new Map(
        days.map((d, i) => [Math.round((Date.parse(`${d}T00:00:00Z`) - fromMs) / DAY_MS), i]),
      );
      return {
        source,
        from,
        to,
        days: columns,
        symbols: rows.map((r) => {
          const cells: string[] = columns.map((d) =>
            d.holiday !== null ? "H" : d.date < r.first_date || d.date > r.last_date ? "-" : "M",
          );
          for (const offset of r.loaded) {
            const i = columnOf.get(offset);
            if (i !== undefined && cells[i] === "M") cells[i] = "L";
          }
          for (const offset of r.errors) {
            const i = columnOf.get(offset);
            if (i !== undefined && cells[i] === "L") cells[i] = "Q";
          }
          return { symbol: r.symbol, cells: cells.join("") };
        }),
        total,
        offset: options.offset,
        sources,
      };
    });
  }
}

/** A run as the console's JSON (instants ISO 8601 UTC). */
export function runJson(r: RunRow): RunJson {
  return {
    ...r,
    created_at: r.created_at.toISOString(),
    started_at: r.started_at?.toISOString() ?? null,
    ended_at: r.ended_at?.toISOString() ?? null,
    scheduled_at: r.scheduled_at?.toISOString() ?? null,
  };
}

function deploymentJson(d: DeploymentRow) {
  return { ...d, next_run: d.next_run?.toISOString() ?? null };
}

/**
 * A page cursor: the list (`r` ran, `u` upcoming), the last run's ordering time in microseconds
 * and its id, as base64url text. Opaque to clients.
 */
export function encodeCursor(key: RunKey, when: "ran" | "upcoming"): string {
  return Buffer.from(`${when === "ran" ? "r" : "u"}:${key.us}:${key.id}`).toString("base64url");
}

function decodeCursor(text: string, when: "ran" | "upcoming"): RunKey {
  const match = /^([ru]):(-?\d{1,20}):([0-9a-zA-Z-]{1,64})$/.exec(Buffer.from(text, "base64url").toString());
  if (!match || !/^[A-Za-z0-9_-]+$/.test(text)) {
    throw new ControlError(400, "query: before: not a cursor this API gave (pass the `next` of a page)");
  }
  if ((match[1] === "r") !== (when === "ran")) {
    throw new ControlError(
      400,
      `query: before: a cursor of the ${match[1] === "r" ? "runs" : "upcoming"} list`,
    );
  }
  return { us: BigInt(match[2]!), id: match[3]! };
}

/** The first error of a pipeline that does not load, as `file:line:col: message`. */
function loadProblem(diagnostics: Parameters<typeof formatDiagnostic>[0][], file: string): string {
  const first = diagnostics.find((d) => d.severity === "error");
  return first ? formatDiagnostic(first) : `${file} does not load`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function noBars(source: string, symbol: string): ControlError {
  return new ControlError(404, `no bars of ${JSON.stringify(symbol)} from source ${JSON.stringify(source)}`);
}

/** A source's latest bar against the latest XNYS session whose close has passed in New York. */
function freshness(
  e: { source: string; latest: string | null; symbols: number },
  now: Date,
): Omit<FreshnessJson, "overdue_seconds"> {
  let due = sessionOnOrBefore(xnysDate(now));
  if ((sessionCloseInstant(due)?.getTime() ?? 0) > now.getTime()) due = previousSession(due);
  let behind = 0;
  if (e.latest !== null) {
    try {
      behind = Math.max(0, countSessions(e.latest, due) - (isSession(e.latest) ? 1 : 0));
    } catch {
      // A date outside the calendar's years (1990-2100): nothing to count against.
    }
  }
  return {
    source: e.source,
    latest_loaded: e.latest,
    latest_due: due,
    sessions_behind: behind,
    symbols: e.symbols,
  };
}

/** Weekdays from `from` to `to` (both inclusive), at most `max`. */
function weekdays(from: string, to: string, max: number): string[] {
  const out: string[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end && out.length < max; t += DAY_MS) {
    const day = new Date(t).getUTCDay();
    if (day !== 0 && day !== 6) out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/** The first of the `n` weekdays ending on or before `to`. */
function weekdaysBack(to: string, n: number): string {
  let t = Date.parse(`${to}T00:00:00Z`);
  let left = n;
  for (;;) {
    const day = new Date(t).getUTCDay();
    if (day !== 0 && day !== 6 && --left === 0) return new Date(t).toISOString().slice(0, 10);
    t -= DAY_MS;
  }
}

/** The grid's columns: each weekday, with its holiday's name when XNYS is closed. */
function dayColumns(days: string[]): CoverageJson["days"] {
  return days.map((date) => ({ date, holiday: isSession(date) ? null : (closureReason(date) ?? "closed") }));
}
