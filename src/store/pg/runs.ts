/**
 * Reading the run history on PostgreSQL: the twins of `../runs.ts`, with the same inputs, outputs
 * and order (rows become `RunRow`s etc. through the same conversions). Nothing here writes.
 *
 * One difference of method, none of result: DuckDB's "ran" list reads widening time windows (a
 * top-N over an expression costs DuckDB a full sort); here it is one `ORDER BY ... LIMIT`, which
 * PostgreSQL answers with a bounded heap. Keys (`RunKey.us`) are exact microseconds on both:
 * `epochUs` below, and `fromUs` to compare against them as timestamps.
 */
import {
  type CachedTask,
  type ListRunsOptions,
  type LogRow,
  type LogsOptions,
  MAX_CANDIDATES,
  onlyRunOfPrefix,
  orderOf,
  RUN_TIME,
  type RunRow,
  type RunsPage,
  runColumns,
  TASK_COLUMNS,
  type TaskRunRow,
  type TransitionRow,
  toCachedTask,
  toLogRow,
  toRunRow,
  toTaskRunRow,
  toTransitionRow,
} from "../runs.js";
import { FINAL_RUN_STATES } from "../states.js";
import { type PgDb, pgQuery } from "./transaction.js";

/** `runColumns` with the date as `YYYY-MM-DD` whatever the server's DateStyle. */
const RUN_COLUMNS = runColumns(undefined, (column) => `to_char(${column}, 'YYYY-MM-DD')`);

/** A timestamptz as exact microseconds since the epoch (`extract(epoch)` is a double before PG 14). */
function epochUs(expr: string): string {
  return `(extract(epoch FROM date_trunc('second', ${expr}))::bigint * 1000000
    + extract(microseconds FROM ${expr})::bigint % 1000000)`;
}

/** Microseconds since the epoch (a bigint parameter) as a timestamptz, exactly. */
function fromUs(param: string): string {
  return `(timestamptz 'epoch' + ${param}::bigint * interval '1 microsecond')`;
}

/** Positional parameters: `add(value)` returns its `$n`. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 0) throw new Error("limit must be a whole number >= 0");
}

/** The run with exactly this id. */
export async function findRunByIdPg(db: PgDb, id: string): Promise<RunRow | undefined> {
  const { rows } = await pgQuery(db, `SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id]);
  return rows[0] === undefined ? undefined : toRunRow(rows[0]);
}

/**
 * A run by its id or by a prefix of it that only one run has (`findRun`'s twin). Undefined when
 * none matches. @throws Error naming the candidates when the prefix is ambiguous.
 */
export async function findRunPg(db: PgDb, idOrPrefix: string): Promise<RunRow | undefined> {
  const wanted = idOrPrefix.trim();
  if (wanted === "") return undefined;
  const exact = await findRunByIdPg(db, wanted);
  if (exact !== undefined) return exact;
  const { rows } = await pgQuery(
    db,
    `SELECT ${RUN_COLUMNS} FROM runs WHERE starts_with(id, $1)
     ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT ${MAX_CANDIDATES + 1}`,
    [wanted.toLowerCase()],
  );
  return onlyRunOfPrefix(wanted, rows.map(toRunRow));
}

/** The SELECT of `listRunsPg` (the ordering time as `order_us`), as `runsQuery` builds DuckDB's. */
function runsQueryPg(options: ListRunsOptions): { sql: string; values: unknown[] } {
  const p = new Params();
  const where: string[] = [];
  if (options.pipeline !== undefined) where.push(`pipeline = ${p.add(options.pipeline)}`);
  if (options.deployment !== undefined) where.push(`deployment = ${p.add(options.deployment)}`);
  if (options.state !== undefined) where.push(`state = ${p.add(options.state)}`);
  if (options.states !== undefined) where.push(`state = ANY(${p.add([...options.states])}::text[])`);
  if (options.since !== undefined) where.push(`${RUN_TIME} >= ${p.add(options.since)}`);
  if (options.when !== undefined) {
    // A Scheduled run whose time has not come: what the scheduler made ahead.
    const upcoming = `(state = 'Scheduled' AND scheduled_at > ${p.add(options.now ?? new Date())})`;
    where.push(options.when === "upcoming" ? upcoming : `NOT coalesce(${upcoming}, false)`);
  }
  const { time, desc } = orderOf(options.when);
  if (options.after !== undefined) {
    const past = desc ? "<" : ">";
    const us = fromUs(p.add(options.after.us.toString()));
    const id = p.add(options.after.id);
    where.push(`(${time} ${past} ${us} OR (${time} = ${us} AND id COLLATE "C" ${past} ${id}))`);
  }
  let sql = `SELECT ${RUN_COLUMNS}, ${epochUs(time)} AS order_us FROM runs`;
  if (where.length > 0) sql += ` WHERE ${where.join(" AND ")}`;
  // Ids in byte order, as DuckDB sorts them (a server's locale may sort otherwise).
  sql += desc ? ` ORDER BY ${time} DESC, id COLLATE "C" DESC` : ` ORDER BY ${time}, id COLLATE "C"`;
  if (options.limit !== undefined) {
    checkLimit(options.limit);
    sql += ` LIMIT ${options.limit}`;
  }
  return { sql, values: p.values };
}

/** Runs, newest first (or soonest first for `when: "upcoming"`): `listRuns`' twin. */
export async function listRunsPg(db: PgDb, options: ListRunsOptions = {}): Promise<RunRow[]> {
  const { sql, values } = runsQueryPg(options);
  return (await pgQuery(db, sql, values)).rows.map(toRunRow);
}

/** One page of `listRunsPg` (`limit` runs, default 50, past `after`) and the key of the next: `runsPage`' twin. */
export async function runsPagePg(db: PgDb, options: ListRunsOptions): Promise<RunsPage> {
  const limit = options.limit ?? 50;
  checkLimit(limit);
  const { sql, values } = runsQueryPg({ ...options, limit: limit + 1 });
  const { rows } = await pgQuery(db, sql, values);
  const last = rows.length > limit ? rows[limit - 1] : undefined;
  return {
    rows: rows.slice(0, limit).map(toRunRow),
    next: last === undefined ? null : { us: BigInt(String(last.order_us)), id: String(last.id) },
  };
}

/** The task instances of a run, in the order they started (never-started ones by when they ended). */
export async function taskRunsOfPg(db: PgDb, runId: string): Promise<TaskRunRow[]> {
  const { rows } = await pgQuery(
    db,
    `SELECT ${TASK_COLUMNS} FROM task_runs WHERE run_id = $1
     ORDER BY coalesce(started_at, ended_at) NULLS LAST, task_id COLLATE "C"`,
    [runId],
  );
  return rows.map(toTaskRunRow);
}

/** A run's log lines in time order (after a cursor, with a limit): `logsOf`' twin. */
export async function logsOfPg(db: PgDb, runId: string, options: LogsOptions = {}): Promise<LogRow[]> {
  const p = new Params();
  let sql = `SELECT run_id, task_id, ts, seq, level, message FROM run_logs WHERE run_id = ${p.add(runId)}`;
  if (options.after !== undefined) {
    const ts = p.add(options.after.ts);
    sql += ` AND (ts > ${ts} OR (ts = ${ts} AND seq > ${p.add(options.after.seq)}))`;
  }
  sql += " ORDER BY ts, seq";
  if (options.limit !== undefined) {
    checkLimit(options.limit);
    sql += ` LIMIT ${options.limit}`;
  }
  return (await pgQuery(db, sql, p.values)).rows.map(toLogRow);
}

/** A run's state transitions (the run's own have task_id null) in time order: `transitionsOf`' twin. */
export async function transitionsOfPg(db: PgDb, runId: string): Promise<TransitionRow[]> {
  const { rows } = await pgQuery(
    db,
    // In one millisecond, a run's end comes after its tasks' (the recorder's seq orders those).
    `SELECT run_id, task_id, ts, seq, state, attempt, message FROM state_transitions WHERE run_id = $1
     ORDER BY ts, (task_id IS NULL AND state = ANY($2::text[])), seq`,
    [runId, [...FINAL_RUN_STATES]],
  );
  return rows.map(toTransitionRow);
}

/**
 * The latest Completed task run with this cache key that ended at or after `notBefore` (no expiry
 * when undefined): `findCachedTask`'s twin. Cached instances do not count.
 */
export async function findCachedTaskPg(
  db: PgDb,
  cacheKey: string,
  notBefore: Date | undefined,
): Promise<CachedTask | undefined> {
  const values: unknown[] = [cacheKey];
  let sql = "SELECT outputs, run_id, task_id FROM task_runs WHERE cache_key = $1 AND state = 'Completed'";
  if (notBefore !== undefined) {
    values.push(notBefore);
    sql += " AND ended_at >= $2";
  }
  sql += " ORDER BY ended_at DESC NULLS LAST LIMIT 1";
  const { rows } = await pgQuery(db, sql, values);
  return rows[0] === undefined ? undefined : toCachedTask(rows[0]);
}

/** `findCachedTaskPg` for many keys in one query: `findCachedTasks`' twin. */
export async function findCachedTasksPg(
  db: PgDb,
  cacheKeys: readonly string[],
  notBefore: Date | undefined,
): Promise<Map<string, CachedTask>> {
  const found = new Map<string, CachedTask>();
  if (cacheKeys.length === 0) return found;
  const values: unknown[] = [[...new Set(cacheKeys)]];
  let sql = `SELECT DISTINCT ON (cache_key) cache_key, outputs, run_id, task_id FROM task_runs
    WHERE cache_key = ANY($1::text[]) AND state = 'Completed'`;
  if (notBefore !== undefined) {
    values.push(notBefore);
    sql += " AND ended_at >= $2";
  }
  sql += " ORDER BY cache_key, ended_at DESC NULLS LAST";
  for (const row of (await pgQuery(db, sql, values)).rows)
    found.set(String(row.cache_key), toCachedTask(row));
  return found;
}
