/**
 * Reading the run history: small named functions over an explicit connection. Nothing here writes:
 * runs are made by `createRuns`, change state through `transitionRuns` (and `crashRuns`), and the
 * engine's task states, transitions and logs go through `RunRecorder`.
 */
import { type DuckDBConnection, DuckDBTimestampTZValue, type DuckDBValue, listValue } from "@duckdb/node-api";
import { FINAL_RUN_STATES, type RunState, type TaskState } from "./states.js";
import { asDate, asJson, asNumber, asString, rowObjects, timestampTZ } from "./values.js";

/** A row of `runs`. */
export interface RunRow {
  id: string;
  pipeline: string;
  deployment: string | null;
  state: RunState;
  parameters: Record<string, unknown>;
  /** `YYYY-MM-DD`. */
  logical_date: string | null;
  created_at: Date;
  started_at: Date | null;
  ended_at: Date | null;
  error: string | null;
  /** The pipeline file as the user named it. */
  pipeline_file: string | null;
  /** When it was due (the fire time of a scheduled run, the asking of one on demand); null for `tickflow run`. */
  scheduled_at: Date | null;
}

/** A row of `task_runs`: the latest state of one task instance. */
export interface TaskRunRow {
  run_id: string;
  /** The instance id (`fetch[AAPL]` for a for_each instance). */
  task_id: string;
  /** The step type (`uses`). */
  step: string;
  state: TaskState;
  attempts: number;
  started_at: Date | null;
  ended_at: Date | null;
  error: string | null;
  outputs: Record<string, unknown> | null;
  cache_key: string | null;
}

/** A row of `run_logs`. */
export interface LogRow {
  run_id: string;
  /** null for the run's own lines. */
  task_id: string | null;
  ts: Date;
  /** Orders lines of one recorder that share a timestamp. */
  seq: number;
  level: string;
  message: string;
}

/** A row of `state_transitions`. */
export interface TransitionRow {
  run_id: string;
  /** null for the run itself. */
  task_id: string | null;
  ts: Date;
  seq: number;
  state: string;
  attempt: number;
  message: string | null;
}

/**
 * The columns of a `RunRow`, of `runs` under `alias` when given (a join). `dateText` turns the
 * DATE column into `YYYY-MM-DD` text (PostgreSQL's own text of a date follows its DateStyle).
 */
export function runColumns(
  alias?: string,
  dateText: (column: string) => string = (column) => `${column}::VARCHAR`,
): string {
  const t = alias === undefined ? "" : `${alias}.`;
  return `${t}id, ${t}pipeline, ${t}deployment, ${t}state, ${t}parameters, ${dateText(`${t}logical_date`)} AS logical_date,
  ${t}created_at, ${t}started_at, ${t}ended_at, ${t}error, ${t}pipeline_file, ${t}scheduled_at`;
}

const RUN_COLUMNS = runColumns();

/** A run's time for listing and `since`: when it started, else when it was due, else made. */
export const RUN_TIME = "coalesce(started_at, scheduled_at, created_at)";

/** A Scheduled run whose time has not come (`now`, a placeholder): what the scheduler made ahead. */
export function upcomingRuns(now: string): string {
  return `(state = 'Scheduled' AND scheduled_at > ${now})`;
}

const UPCOMING = upcomingRuns("$now");

/** The columns of a `TaskRunRow` (both backends). */
export const TASK_COLUMNS =
  "run_id, task_id, step, state, attempts, started_at, ended_at, error, outputs, cache_key";

export interface ListRunsOptions {
  /** At most this many (default: all). */
  limit?: number;
  pipeline?: string;
  deployment?: string;
  state?: string;
  /** Only runs in one of these states (with `state`: in both). */
  states?: readonly string[];
  /** Only runs that started, or else were due, at or after this. */
  since?: Date;
  /**
   * "ran": runs that started or are due by `now` (what ran and what waits for a worker), newest
   * first by that time; "upcoming": Scheduled runs not due yet, soonest first. Default: every run,
   * newest first by creation.
   */
  when?: "ran" | "upcoming";
  /** The clock of `when` (default: now). */
  now?: Date;
  /** Only runs past this one in the list's order (a keyset page: the `key` of the last run seen). */
  after?: RunKey;
}

/** Where a run sits in a list: its ordering time (microseconds since the epoch) and id. */
export interface RunKey {
  us: bigint;
  id: string;
}

/** A page of runs and the key of its last run (null when no run is left after it). */
export interface RunsPage {
  rows: RunRow[];
  next: RunKey | null;
}

/** The ordering time of a list and whether it runs newest first (both backends). */
export function orderOf(when: ListRunsOptions["when"]): { time: string; desc: boolean } {
  if (when === "upcoming") return { time: "scheduled_at", desc: false };
  if (when === "ran") return { time: RUN_TIME, desc: true };
  return { time: "created_at", desc: true };
}

/** The conditions of `options` on plain columns (all but `after`), and their values. */
function runsFilters(options: ListRunsOptions): { where: string[]; values: Record<string, DuckDBValue> } {
  const where: string[] = [];
  const values: Record<string, DuckDBValue> = {};
  if (options.pipeline !== undefined) {
    where.push("pipeline = $pipeline");
    values.pipeline = options.pipeline;
  }
  if (options.deployment !== undefined) {
    where.push("deployment = $deployment");
    values.deployment = options.deployment;
  }
  if (options.state !== undefined) {
    where.push("state = $state");
    values.state = options.state;
  }
  if (options.states !== undefined) {
    where.push("state IN (SELECT unnest($states::VARCHAR[]))");
    values.states = listValue([...options.states]);
  }
  if (options.since !== undefined) {
    where.push(`${RUN_TIME} >= $since`);
    values.since = timestampTZ(options.since);
  }
  if (options.when !== undefined) {
    where.push(options.when === "upcoming" ? UPCOMING : `NOT coalesce(${UPCOMING}, false)`);
    values.now = timestampTZ(options.now ?? new Date());
  }
  return { where, values };
}

/** The SELECT of `listRuns` (with the ordering time as `order_us`) and its values. */
function runsQuery(options: ListRunsOptions): { sql: string; values: Record<string, DuckDBValue> } {
  const { where, values } = runsFilters(options);
  const { time, desc } = orderOf(options.when);
  if (options.after !== undefined) {
    const past = desc ? "<" : ">";
    // The key's time in microseconds, as stored: a millisecond Date would repeat or skip runs.
    where.push(
      `(epoch_us(${time}) ${past} $after_us OR (epoch_us(${time}) = $after_us AND id ${past} $after_id))`,
    );
    values.after_us = options.after.us;
    values.after_id = options.after.id;
  }
  let sql = `SELECT ${RUN_COLUMNS}, epoch_us(${time}) AS order_us FROM runs`;
  if (where.length > 0) sql += ` WHERE ${where.join(" AND ")}`;
  sql += desc ? ` ORDER BY ${time} DESC, id DESC` : ` ORDER BY ${time}, id`;
  if (options.limit !== undefined) {
    if (!Number.isInteger(options.limit) || options.limit < 0)
      throw new Error("limit must be a whole number >= 0");
    sql += ` LIMIT ${options.limit}`;
  }
  return { sql, values };
}

/** Runs, newest first (or soonest first for `when: "upcoming"`). */
export async function listRuns(db: DuckDBConnection, options: ListRunsOptions = {}): Promise<RunRow[]> {
  if (options.when === "ran" && options.limit !== undefined) {
    return (await ranPage(db, options, options.limit)).map(toRunRow);
  }
  const { sql, values } = runsQuery(options);
  const reader = await db.runAndReadAll(sql, Object.keys(values).length > 0 ? values : undefined);
  return rowObjects(reader).map(toRunRow);
}

/**
 * One page of `listRuns` (`limit` runs, default 50, past `after`) and the key to ask for the next:
 * keyset pagination, so a deep page costs what the first does and runs arriving meanwhile neither
 * repeat nor skip one.
 */
export async function runsPage(db: DuckDBConnection, options: ListRunsOptions): Promise<RunsPage> {
  const limit = options.limit ?? 50;
  let rows: Record<string, unknown>[];
  if (options.when === "ran") rows = await ranPage(db, options, limit + 1);
  else {
    const { sql, values } = runsQuery({ ...options, limit: limit + 1 });
    rows = rowObjects(await db.runAndReadAll(sql, values));
  }
  const last = rows.length > limit ? rows[limit - 1] : undefined;
  return {
    rows: rows.slice(0, limit).map(toRunRow),
    next: last === undefined ? null : { us: BigInt(last.order_us as bigint), id: String(last.id) },
  };
}

/** The first time window `ranPage` looks back over (then 4x, 16x, ... until it has a page). */
const FIRST_WINDOW_US = 86_400_000_000n;

/**
 * The first `limit` rows of the "ran" list (`when: "ran"`, newest first by `RUN_TIME`, past
 * `options.after`), with `order_us`. A top-N over every run sorts the whole table on an
 * expression (~20 ms for 100,000 runs), so this reads a time window back from the cursor (or the
 * newest time) instead, widening it 4x until it holds `limit` rows or reaches the oldest run. The
 * window is three branches on plain columns (started; else due; else made), so each filter is a
 * range on one column that DuckDB pushes into the scan (and prunes row groups with). Exact: every
 * run whose time is inside the window is read, and once `limit` rows are found all runs outside it
 * come later in the order.
 */
async function ranPage(
  db: DuckDBConnection,
  options: ListRunsOptions,
  limit: number,
): Promise<Record<string, unknown>[]> {
  if (!Number.isInteger(limit) || limit < 0) throw new Error("limit must be a whole number >= 0");
  // Ungrouped min/max: answered from the columns' statistics, without a scan.
  const [bounds] = (
    await db.runAndReadAll(
      `SELECT epoch_us(least(min(started_at), min(scheduled_at), min(created_at))) AS lo,
         epoch_us(greatest(max(started_at), max(scheduled_at), max(created_at))) AS hi FROM runs`,
    )
  ).getRows();
  if (bounds?.[0] == null || bounds[1] == null) return [];
  const oldest = BigInt(bounds[0] as bigint);
  const top = options.after === undefined ? BigInt(bounds[1] as bigint) : options.after.us;
  const since = options.since === undefined ? undefined : BigInt(options.since.getTime()) * 1000n;
  const { where: filters, values } = runsFilters({ ...options, when: "ran", since: undefined });
  const where = filters.length > 0 ? filters.join(" AND ") : "true";
  const keyset: string[] = [];
  if (options.after !== undefined) {
    keyset.push(
      `(epoch_us(${RUN_TIME}) < $after_us OR (epoch_us(${RUN_TIME}) = $after_us AND id < $after_id))`,
    );
    values.after_us = options.after.us;
    values.after_id = options.after.id;
    values.hi = new DuckDBTimestampTZValue(options.after.us);
  }
  for (let span = FIRST_WINDOW_US; ; span *= 4n) {
    let lo: bigint | undefined = top - span;
    if (lo <= oldest) lo = undefined;
    if (since !== undefined && (lo === undefined || lo <= since)) lo = since;
    const range = (column: string) =>
      [
        lo === undefined ? "" : ` AND ${column} >= $lo`,
        options.after === undefined ? "" : ` AND ${column} <= $hi`,
      ].join("");
    const windowValues = { ...values, ...(lo === undefined ? {} : { lo: new DuckDBTimestampTZValue(lo) }) };
    const sql = `SELECT ${RUN_COLUMNS}, epoch_us(${RUN_TIME}) AS order_us FROM (
        SELECT * FROM runs WHERE started_at IS NOT NULL${range("started_at")} AND ${where}
        UNION ALL
        SELECT * FROM runs WHERE started_at IS NULL AND scheduled_at IS NOT NULL${range("scheduled_at")} AND ${where}
        UNION ALL
        SELECT * FROM runs WHERE started_at IS NULL AND scheduled_at IS NULL${range("created_at")} AND ${where}
      )${keyset.length > 0 ? ` WHERE ${keyset.join(" AND ")}` : ""}
      ORDER BY ${RUN_TIME} DESC, id DESC LIMIT ${limit}`;
    const rows = rowObjects(await db.runAndReadAll(sql, windowValues));
    if (rows.length >= limit || lo === undefined || lo === since) return rows;
  }
}

async function findRunById(db: DuckDBConnection, id: string): Promise<RunRow | undefined> {
  const reader = await db.runAndReadAll(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $id`, { id });
  const row = rowObjects(reader)[0];
  return row === undefined ? undefined : toRunRow(row);
}

/** How many candidates an ambiguous prefix error lists (a prefix query reads one more). */
export const MAX_CANDIDATES = 5;

/**
 * The run a prefix names, given the runs whose id starts with it (newest first, at most
 * `MAX_CANDIDATES + 1`): the only one, or none.
 * @throws Error naming the candidates when there are several.
 */
export function onlyRunOfPrefix(wanted: string, rows: readonly RunRow[]): RunRow | undefined {
  if (rows.length <= 1) return rows[0];
  const shown = rows.slice(0, MAX_CANDIDATES).map((r) => `${r.id} (${r.pipeline}, ${r.state})`);
  const more = rows.length > MAX_CANDIDATES ? ", ..." : "";
  throw new Error(`run id prefix "${wanted}" is ambiguous: it matches ${shown.join(", ")}${more}`);
}

/**
 * A run by its id or by a prefix of it that only one run has. Undefined when none matches.
 * @throws Error naming the candidates when the prefix is ambiguous.
 */
export async function findRun(db: DuckDBConnection, idOrPrefix: string): Promise<RunRow | undefined> {
  const wanted = idOrPrefix.trim();
  if (wanted === "") return undefined;
  const exact = await findRunById(db, wanted);
  if (exact !== undefined) return exact;
  const reader = await db.runAndReadAll(
    `SELECT ${RUN_COLUMNS} FROM runs WHERE starts_with(id, $prefix) ORDER BY created_at DESC, id DESC LIMIT ${MAX_CANDIDATES + 1}`,
    { prefix: wanted.toLowerCase() },
  );
  return onlyRunOfPrefix(wanted, rowObjects(reader).map(toRunRow));
}

/** The task instances of a run, in the order they started (never-started ones by when they ended). */
export async function taskRunsOf(db: DuckDBConnection, runId: string): Promise<TaskRunRow[]> {
  const reader = await db.runAndReadAll(
    `SELECT ${TASK_COLUMNS} FROM task_runs WHERE run_id = $run_id
     ORDER BY coalesce(started_at, ended_at) NULLS LAST, task_id`,
    { run_id: runId },
  );
  return rowObjects(reader).map(toTaskRunRow);
}

export interface LogsOptions {
  /** Only lines after this one (for `runs logs --follow`: pass the last line seen). */
  after?: { ts: Date; seq: number };
  limit?: number;
}

/** A run's log lines in time order. */
export async function logsOf(
  db: DuckDBConnection,
  runId: string,
  options: LogsOptions = {},
): Promise<LogRow[]> {
  const values: Record<string, DuckDBValue> = { run_id: runId };
  let sql = "SELECT run_id, task_id, ts, seq, level, message FROM run_logs WHERE run_id = $run_id";
  if (options.after !== undefined) {
    sql += " AND (ts > $after_ts OR (ts = $after_ts AND seq > $after_seq))";
    values.after_ts = timestampTZ(options.after.ts);
    values.after_seq = options.after.seq;
  }
  sql += " ORDER BY ts, seq";
  if (options.limit !== undefined) {
    if (!Number.isInteger(options.limit) || options.limit < 0)
      throw new Error("limit must be a whole number >= 0");
    sql += ` LIMIT ${options.limit}`;
  }
  const reader = await db.runAndReadAll(sql, values);
  return rowObjects(reader).map(toLogRow);
}

/** A `run_logs` row read (either backend) as a `LogRow`. */
export function toLogRow(r: Record<string, unknown>): LogRow {
  return {
    run_id: String(r.run_id),
    task_id: asString(r.task_id),
    ts: asDate(r.ts)!,
    seq: asNumber(r.seq),
    level: String(r.level),
    message: String(r.message),
  };
}

/** A run's state transitions (the run's own have task_id null) in time order. */
export async function transitionsOf(db: DuckDBConnection, runId: string): Promise<TransitionRow[]> {
  const reader = await db.runAndReadAll(
    // In one millisecond, a run's end comes after its tasks' (the recorder's seq orders those).
    `SELECT run_id, task_id, ts, seq, state, attempt, message FROM state_transitions WHERE run_id = $run_id
     ORDER BY ts, task_id IS NULL AND state IN (SELECT unnest($final::VARCHAR[])), seq`,
    { run_id: runId, final: listValue([...FINAL_RUN_STATES]) },
  );
  return rowObjects(reader).map(toTransitionRow);
}

/** A `state_transitions` row read (either backend) as a `TransitionRow`. */
export function toTransitionRow(r: Record<string, unknown>): TransitionRow {
  return {
    run_id: String(r.run_id),
    task_id: asString(r.task_id),
    ts: asDate(r.ts)!,
    seq: asNumber(r.seq),
    state: String(r.state),
    attempt: asNumber(r.attempt),
    message: asString(r.message),
  };
}

/** A completed task whose outputs a task with the same cache key may reuse. */
export interface CachedTask {
  outputs: Record<string, unknown>;
  run_id: string;
  task_id: string;
}

/**
 * The latest Completed task run with this cache key that ended at or after `notBefore` (no expiry
 * when undefined). Cached instances do not count: a reuse never extends the original's life.
 */
export async function findCachedTask(
  db: DuckDBConnection,
  cacheKey: string,
  notBefore: Date | undefined,
): Promise<CachedTask | undefined> {
  const values: Record<string, DuckDBValue> = { cache_key: cacheKey };
  let sql =
    "SELECT outputs, run_id, task_id FROM task_runs WHERE cache_key = $cache_key AND state = 'Completed'";
  if (notBefore !== undefined) {
    sql += " AND ended_at >= $not_before";
    values.not_before = timestampTZ(notBefore);
  }
  sql += " ORDER BY ended_at DESC NULLS LAST LIMIT 1";
  const row = rowObjects(await db.runAndReadAll(sql, values))[0];
  return row === undefined ? undefined : toCachedTask(row);
}

/** A cache lookup's row (outputs, run_id, task_id; either backend) as a `CachedTask`. */
export function toCachedTask(row: Record<string, unknown>): CachedTask {
  return {
    outputs: asJson<Record<string, unknown>>(row.outputs) ?? {},
    run_id: String(row.run_id),
    task_id: String(row.task_id),
  };
}

/**
 * `findCachedTask` for many keys in one query (the instances of a `for_each` task): a map from each
 * key that has a usable result to that result. One scan instead of one per key.
 */
export async function findCachedTasks(
  db: DuckDBConnection,
  cacheKeys: readonly string[],
  notBefore: Date | undefined,
): Promise<Map<string, CachedTask>> {
  const found = new Map<string, CachedTask>();
  if (cacheKeys.length === 0) return found;
  const values: Record<string, DuckDBValue> = { keys: listValue([...new Set(cacheKeys)]) };
  let sql = `SELECT cache_key, arg_max(outputs, ended_at) AS outputs, arg_max(run_id, ended_at) AS run_id,
      arg_max(task_id, ended_at) AS task_id
    FROM task_runs
    WHERE cache_key IN (SELECT unnest($keys::VARCHAR[])) AND state = 'Completed'`;
  if (notBefore !== undefined) {
    sql += " AND ended_at >= $not_before";
    values.not_before = timestampTZ(notBefore);
  }
  sql += " GROUP BY cache_key";
  for (const row of rowObjects(await db.runAndReadAll(sql, values))) {
    found.set(String(row.cache_key), toCachedTask(row));
  }
  return found;
}

export function toRunRow(r: Record<string, unknown>): RunRow {
  return {
    id: String(r.id),
    pipeline: String(r.pipeline),
    deployment: asString(r.deployment),
    state: String(r.state) as RunState,
    parameters: asJson<Record<string, unknown>>(r.parameters) ?? {},
    logical_date: asString(r.logical_date),
    created_at: asDate(r.created_at)!,
    started_at: asDate(r.started_at),
    ended_at: asDate(r.ended_at),
    error: asString(r.error),
    pipeline_file: asString(r.pipeline_file),
    scheduled_at: asDate(r.scheduled_at),
  };
}

export function toTaskRunRow(r: Record<string, unknown>): TaskRunRow {
  return {
    run_id: String(r.run_id),
    task_id: String(r.task_id),
    step: String(r.step),
    state: String(r.state) as TaskState,
    attempts: asNumber(r.attempts),
    started_at: asDate(r.started_at),
    ended_at: asDate(r.ended_at),
    error: asString(r.error),
    outputs: asJson<Record<string, unknown>>(r.outputs),
    cache_key: asString(r.cache_key),
  };
}
