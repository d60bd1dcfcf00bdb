/**
 * `tickflow backfill NAME --from D --to D [--missing]`: runs of a deployment for past NYSE sessions
 * (the run date of each is the session), queued as Scheduled now so the daemon runs them within the
 * pool's and deployment's limits. Sessions that already have a run waiting or running are left out,
 * so repeating a backfill does not queue twice. `--missing` keeps only the sessions for which some
 * of the deployment's symbols have no bar in bars_daily.
 */
import { DATE, VARCHAR } from "@duckdb/node-api";
import { sessionsBetween } from "../calendar/index.js";
import {
  type Connection,
  createRuns,
  dateValue,
  FINAL_RUN_STATES,
  type Locked,
  type NewRun,
  newRunId,
  withConnectionLock,
  withStaged,
} from "../store/index.js";
import {
  type BackfillDeployment,
  backfillDeploymentPg,
  createRunsPg,
  lockBackfillPg,
  type PgDb,
  sessionsMissingBarsPg,
  unfinishedRunDatesPg,
  withPgTransaction,
} from "../store/pg/index.js";

const FINAL = FINAL_RUN_STATES.map((s) => `'${s}'`).join(", ");

export interface BackfillRange {
  from: string;
  to: string;
  missing: boolean;
  symbols?: readonly string[];
}

/** A backend's reads and writes for a backfill: the decisions are `queueBackfill`'s. */
interface BackfillStore {
  deployment(name: string): Promise<BackfillDeployment | undefined>;
  /** The sessions for which some of `symbols` has no bar. */
  missingBars(sessions: readonly string[], symbols: readonly string[]): Promise<Set<string>>;
  /** Run dates of `deployment` in the range with a run waiting or running. */
  unfinishedDates(deployment: string, from: string, to: string): Promise<Set<string>>;
  createRuns(runs: readonly NewRun[], at: Date, message: string): Promise<unknown>;
}

export interface BackfillResult {
  /** Sessions in the range. */
  sessions: number;
  /** Runs queued, with their run dates. */
  queued: { id: string; date: string }[];
  /** Sessions left out because a run of theirs is already waiting or running. */
  pending: number;
  /** Sessions left out by `missing` because every symbol has its bar. */
  complete: number;
}

export function backfill(
  on: Connection,
  deployment: string,
  range: BackfillRange,
  now: Date,
): Promise<BackfillResult | undefined> {
  // Its reads and staging table take the connection in turn with the other work sharing it.
  return withConnectionLock(on, (locked) => queueBackfill(duckdbBackfill(locked), deployment, range, now));
}

/** `backfill` on PostgreSQL: one transaction; backfills of one deployment take turns. */
export function backfillPg(
  db: PgDb,
  deployment: string,
  range: BackfillRange,
  now: Date,
): Promise<BackfillResult | undefined> {
  return withPgTransaction(db, async (tx) => {
    await lockBackfillPg(tx, deployment);
    return queueBackfill(
      {
        deployment: (name) => backfillDeploymentPg(tx, name),
        missingBars: (sessions, symbols) => sessionsMissingBarsPg(tx, sessions, symbols),
        unfinishedDates: (name, from, to) => unfinishedRunDatesPg(tx, name, from, to),
        createRuns: (runs, at, message) => createRunsPg(tx, runs, at, message),
      },
      deployment,
      range,
      now,
    );
  });
}

async function queueBackfill(
  store: BackfillStore,
  deployment: string,
  range: BackfillRange,
  now: Date,
): Promise<BackfillResult | undefined> {
  const found = await store.deployment(deployment);
  if (!found) return undefined;
  const parameters = found.parameters;
  const sessions = sessionsBetween(range.from, range.to);
  let wanted = sessions;
  let complete = 0;
  if (range.missing && sessions.length > 0) {
    const symbols =
      range.symbols ?? (Array.isArray(parameters.symbols) ? parameters.symbols.map(String) : []);
    if (symbols.length === 0) {
      throw new Error(
        `--missing needs the deployment's symbols: give ${deployment} a "symbols" parameter in the deployments file`,
      );
    }
    const missing = await store.missingBars(sessions, symbols);
    wanted = sessions.filter((d) => missing.has(d));
    complete = sessions.length - wanted.length;
  }
  const waiting = await store.unfinishedDates(deployment, range.from, range.to);
  const queue = wanted.filter((d) => !waiting.has(d)).map((date) => ({ id: newRunId(), date }));
  await store.createRuns(
    queue.map((run) => ({
      id: run.id,
      pipeline: found.pipeline,
      deployment,
      state: "Scheduled",
      parameters,
      logical_date: run.date,
      scheduled_at: now,
      work_pool: found.work_pool,
      work_queue: found.work_queue,
      pipeline_file: found.pipeline_file,
    })),
    now,
    "queued by backfill",
  );
  return {
    sessions: sessions.length,
    queued: queue,
    pending: wanted.length - queue.length,
    complete,
  };
}

/** The backfill's reads and writes on DuckDB, on a connection whose lock the caller holds. */
function duckdbBackfill(locked: Locked): BackfillStore {
  const db = locked.db;
  return {
    async deployment(name) {
      const found = (
        await db.runAndReadAll(
          "SELECT pipeline, pipeline_file, parameters::VARCHAR AS parameters, work_pool, work_queue FROM deployments WHERE name = $name",
          { name },
        )
      ).getRowObjectsJS()[0];
      if (!found) return undefined;
      return {
        pipeline: String(found.pipeline),
        pipeline_file: String(found.pipeline_file),
        parameters: JSON.parse(String(found.parameters ?? "{}")) as Record<string, unknown>,
        work_pool: found.work_pool === null ? null : String(found.work_pool),
        work_queue: found.work_queue === null ? null : String(found.work_queue),
      };
    },
    async missingBars(sessions, symbols) {
      const expected = {
        date: { type: DATE, values: sessions.flatMap((d) => symbols.map(() => dateValue(d))) },
        symbol: { type: VARCHAR, values: sessions.flatMap(() => [...symbols]) },
      };
      const rows = await withStaged(db, "backfill_expected", expected, async (staged) =>
        (
          await db.runAndReadAll(
            `SELECT DISTINCT e.date::VARCHAR AS date FROM ${staged} e
             ANTI JOIN bars_daily b ON b.symbol = e.symbol AND b.date = e.date ORDER BY 1`,
          )
        ).getRowObjectsJS(),
      );
      return new Set(rows.map((r) => String(r.date)));
    },
    async unfinishedDates(name, from, to) {
      const rows = await db.runAndReadAll(
        `SELECT logical_date::VARCHAR AS d FROM runs WHERE deployment = $name
           AND state NOT IN (${FINAL}) AND logical_date BETWEEN $from::DATE AND $to::DATE`,
        { name, from, to },
      );
      return new Set(rows.getRowObjectsJS().map((r) => String(r.d)));
    },
    createRuns: (runs, at, message) => createRuns(locked, runs, at, message),
  };
}
