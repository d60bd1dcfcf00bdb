/**
 * Reading the run history on PostgreSQL for the API and the console: the twins of `../runs.ts`'s
 * `findRun`, `listRuns`, `runsPage`, `taskRunsOf`, `transitionsOf` and `logsOf`, with the same
 * answers (columns, row conversion, order, keyset pages, the ambiguous-prefix error are DuckDB's,
 * imported). DuckDB's "ran" list reads widening time windows because its top-N sorts the whole
 * table; PostgreSQL's plain `ORDER BY ... LIMIT` is the same list.
 */
import {
  type ListRunsOptions,
  type LogRow,
  type LogsOptions,
  MAX_CANDIDATES,
  onlyRunOfPrefix,
  RUN_TIME,
  type RunRow,
  type RunsPage,
  runColumns,
  TASK_COLUMNS,
  type TaskRunRow,
  type TransitionRow,
  toLogRow,
  toRunRow,
  toTaskRunRow,
  toTransitionRow,
  upcomingRuns,
} from "../runs.js";
import { FINAL_RUN_STATES } from "../states.js";
import { type PgDb, pgQuery } from "./transaction.js";

const RUN_COLUMNS = runColumns();

/** Ids compared byte by byte, as DuckDB does, whatever the database's collation. */
const BY_ID = 'id COLLATE "C"';

/** Microseconds since the epoch of a timestamptz, exactly (a JS Date holds milliseconds only). */
const epochUs = (time: string) => `(extract(epoch FROM ${time}) * 1000000)::bigint`;

/** Positional parameters built up in order: `add(value)` gives its `$n`. */
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

/** The SELECT of `listRuns` (with the ordering time as `order_us`, text) and its values. */
function runsQuery(options: ListRunsOptions): { sql: string; values: unknown[] } {
  const p = new Params();
  const where: string[] = [];
  if (options.pipeline !== undefined) where.push(`pipeline = ${p.add(options.pipeline)}`);
  if (options.deployment !== undefined) where.push(`deployment = ${p.add(options.deployment)}`);
  if (options.state !== undefined) where.push(`state = ${p.add(options.state)}`);
  if (options.states !== undefined) where.push(`state = ANY(${p.add([...options.states])}::text[])`);
  if (options.since !== undefined) where.push(`${RUN_TIME} >= ${p.add(options.since)}`);
  if (options.when !== undefined) {
    const upcoming = upcomingRuns(`${p.add(options.now ?? new Date())}::timestamptz`);
    where.push(options.when === "upcoming" ? upcoming : `NOT coalesce(${upcoming}, false)`);
  }
  const time =
    options.when === "upcoming" ? "scheduled_at" : options.when === "ran" ? RUN_TIME : "created_at";
  const desc = options.when !== "upcoming";
  if (options.after !== undefined) {
    const past = desc ? "<" : ">";
    // Compared in microseconds, as stored: a millisecond Date would repeat or skip runs.
    const us = `${p.add(options.after.us.toString())}::bigint`;
    const id = p.add(options.after.id);
    where.push(`(${epochUs(time)} ${past} ${us} OR (${epochUs(time)} = ${us} AND ${BY_ID} ${past} ${id}))`);
  }
  let sql = `SELECT ${RUN_COLUMNS}, ${epochUs(time)}::text AS order_us FROM runs`;
  if (where.length > 0) sql += ` WHERE ${where.join(" AND ")}`;
  sql += desc ? ` ORDER BY ${time} DESC, ${BY_ID} DESC` : ` ORDER BY ${time}, ${BY_ID}`;
  if (options.limit !== undefined) {
    checkLimit(options.limit);
    sql += ` LIMIT ${options.limit}`;
  }
  return { sql, values: p.values };
}

/** `listRuns` on PostgreSQL: runs newest first (soonest first for `when: "upcoming"`). */
export async function listRunsPg(db: PgDb, options: ListRunsOptions = {}): Promise<RunRow[]> {
  const { sql, values } = runsQuery(options);
  return (await pgQuery(db, sql, values)).rows.map(toRunRow);
}

/** `runsPage` on PostgreSQL: `limit` runs (default 50) past `after`, and the key of the next page. */
export async function runsPagePg(db: PgDb, options: ListRunsOptions): Promise<RunsPage> {
  const limit = options.limit ?? 50;
  const { sql, values } = runsQuery({ ...options, limit: limit + 1 });
  const rows = (await pgQuery(db, sql, values)).rows;
  const last = rows.length > limit ? rows[limit - 1] : undefined;
  return {
    rows: rows.slice(0, limit).map(toRunRow),
    next: last === undefined ? null : { us: BigInt(String(last.order_us)), id: String(last.id) },
  };
}

/**
 * `findRun` on PostgreSQL: the run with this id, else the only run whose id starts with it.
 * @throws Error naming the candidates when the prefix is ambiguous.
 */
export async function findRunPg(db: PgDb, idOrPrefix: string): Promise<RunRow | undefined> {
  const wanted = idOrPrefix.trim();
  if (wanted === "") return undefined;
  const exact = await pgQuery(db, `SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [wanted]);
  if (exact.rows[0] !== undefined) return toRunRow(exact.rows[0]);
  // starts_with, not LIKE: a prefix holding % or _ matches only itself.
  const found = await pgQuery(
    db,
    `SELECT ${RUN_COLUMNS} FROM runs WHERE starts_with(id, $1)
     ORDER BY created_at DESC, ${BY_ID} DESC LIMIT ${MAX_CANDIDATES + 1}`,
    [wanted.toLowerCase()],
  );
  return onlyRunOfPrefix(wanted, found.rows.map(toRunRow));
}

/** `taskRunsOf` on PostgreSQL: a run's task instances in the order they started. */
export async function taskRunsOfPg(db: PgDb, runId: string): Promise<TaskRunRow[]> {
  const result = await pgQuery(
    db,
    `SELECT ${TASK_COLUMNS} FROM task_runs WHERE run_id = $1
     ORDER BY coalesce(started_at, ended_at) NULLS LAST, task_id COLLATE "C"`,
    [runId],
  );
  return result.rows.map(toTaskRunRow);
}

/** `transitionsOf` on PostgreSQL: a run's state transitions and its tasks', in time order. */
export async function transitionsOfPg(db: PgDb, runId: string): Promise<TransitionRow[]> {
  const result = await pgQuery(
    db,
    // In one millisecond, a run's end comes after its tasks' (the recorder's seq orders those).
    `SELECT run_id, task_id, ts, seq, state, attempt, message FROM state_transitions WHERE run_id = $1
     ORDER BY ts, task_id IS NULL AND state = ANY($2::text[]), seq`,
    [runId, [...FINAL_RUN_STATES]],
  );
  return result.rows.map(toTransitionRow);
}

/** `logsOf` on PostgreSQL: a run's log lines in time order, after `after` when given. */
export async function logsOfPg(db: PgDb, runId: string, options: LogsOptions = {}): Promise<LogRow[]> {
  const p = new Params();
  let sql = `SELECT run_id, task_id, ts, seq, level, message FROM run_logs WHERE run_id = ${p.add(runId)}`;
  if (options.after !== undefined) {
    const ts = `${p.add(options.after.ts)}::timestamptz`;
    sql += ` AND (ts > ${ts} OR (ts = ${ts} AND seq > ${p.add(options.after.seq)}))`;
  }
  sql += " ORDER BY ts, seq";
  if (options.limit !== undefined) {
    checkLimit(options.limit);
    sql += ` LIMIT ${options.limit}`;
  }
  return (await pgQuery(db, sql, p.values)).rows.map(toLogRow);
}
