/**
 * One scheduler pass (Prefect's model): for every active schedule of an unpaused deployment,
 * create the runs it fires up to `now + horizon` as `Scheduled`, keyed by (deployment, schedule,
 * instant) so a pass repeated, or after a redeploy, never creates one twice; after downtime the
 * deployment's `missed_runs` decides which missed fires still run; runs not started in time
 * become `Late`. Pure computation comes from src/schedule and `planPass` (both backends); the
 * passes only read and write: `schedulePass` on DuckDB, `schedulePassPg` on PostgreSQL.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { ScheduleDocument } from "../schedule/deployments-file.js";
import { fireTimes } from "../schedule/fire-times.js";
import { decideMissedRuns, type MissedRunsPolicy } from "../schedule/missed-runs.js";
import { scheduledRunKey } from "../schedule/run-key.js";
import {
  type Connection,
  createRuns,
  type Locked,
  type NewRun,
  timestampTZ,
  transitionRuns,
  withConnectionLock,
  withTransaction,
} from "../store/index.js";
import {
  advanceSchedulesPg,
  createRunsPg,
  dueSchedulesPg,
  lateRunsPg,
  lockDeploymentsPg,
  type PgDb,
  transitionRunsPg,
  withPgTransaction,
} from "../store/pg/index.js";

export interface SchedulerOptions {
  /** How far ahead runs are created. Default 1 hour. */
  horizonMs?: number;
  /** Most runs one schedule creates in one pass. Default 100. */
  maxRunsPerSchedule?: number;
  /** A run due longer ago than this and not started is Late (and a fire missed by more, "missed"). Default 60 s. */
  lateAfterMs?: number;
}

export interface PassResult {
  created: number;
  /** Runs marked Late in this pass. */
  late: number;
  /** The deployment of every run that became Late in this pass: marked, or created Late (missed). */
  lateDeployments: (string | null)[];
  /** Missed fires that `missed_runs` dropped. */
  dropped: number;
}

/** An active schedule of an unpaused deployment, with what its runs need (JSON columns as text). */
export interface DueSchedule {
  deployment: string;
  pipeline: string;
  pipeline_file: string;
  parameters: string;
  work_pool: string | null;
  work_queue: string | null;
  missed_runs: MissedRunsPolicy;
  schedule_id: string;
  definition: string;
  scheduled_until: Date | null;
}

/** What a pass writes, worked out from the due schedules (both backends). */
export interface PassPlan {
  /** The runs to create (those whose key exists already are left out by the creation). */
  rows: NewRun[];
  /** Missed fires that `missed_runs` dropped. */
  dropped: number;
  /** The schedules are done up to here after the pass. */
  until: Date;
  /** Scheduled runs due before this are Late. */
  lateCutoff: Date;
}

export async function schedulePass(
  on: Connection,
  now: Date,
  options: SchedulerOptions = {},
): Promise<PassResult> {
  const due = await withConnectionLock(on, ({ db }) => dueSchedules(db));
  const { rows, dropped, until, lateCutoff } = planPass(due, now, options);

  return withTransaction(on, async (tx) => {
    const db = tx.db;
    const ids = new Set(await createRuns(tx, rows, now, "created by the scheduler"));
    const lateDeployments = createdLate(rows, ids);
    if (due.length > 0) {
      await db.run(
        `UPDATE schedules SET scheduled_until = $until
         WHERE active AND NOT paused AND deployment IN (SELECT name FROM deployments WHERE NOT paused)`,
        { until: timestampTZ(until) },
      );
    }
    const marked = await markLate(tx, now, lateCutoff);
    lateDeployments.push(...marked);
    return { created: ids.size, late: marked.length, lateDeployments, dropped };
  });
}

/**
 * `schedulePass` on PostgreSQL, where the leader alone runs it: one transaction under
 * `DEPLOY_LOCK`, so that a registration or a pause by another daemon (deleting waiting runs,
 * restarting schedules) never interleaves with a pass that read the definitions before it.
 * Only the schedules read are moved on: one registered meanwhile starts at the next pass.
 */
export async function schedulePassPg(
  db: PgDb,
  now: Date,
  options: SchedulerOptions = {},
): Promise<PassResult> {
  return withPgTransaction(db, async (tx) => {
    await lockDeploymentsPg(tx);
    const due = await dueSchedulesPg(tx);
    const { rows, dropped, until, lateCutoff } = planPass(due, now, options);
    const ids = new Set(await createRunsPg(tx, rows, now, "created by the scheduler"));
    const lateDeployments = createdLate(rows, ids);
    await advanceSchedulesPg(tx, due, until);
    const late = await lateRunsPg(tx, lateCutoff);
    const moved = await transitionRunsPg(
      tx,
      { ids: late.map((r) => r.id) },
      { to: "Late", at: now, message: NOT_STARTED },
    );
    const marked = deploymentsOf(late, moved);
    lateDeployments.push(...marked);
    return { created: ids.size, late: marked.length, lateDeployments, dropped };
  });
}

/** The runs every due schedule fires up to `now + horizon`, after `missed_runs` decided on the missed ones. */
export function planPass(due: readonly DueSchedule[], now: Date, options: SchedulerOptions = {}): PassPlan {
  const horizonMs = options.horizonMs ?? 3_600_000;
  const maxRuns = options.maxRunsPerSchedule ?? 100;
  const lateAfterMs = options.lateAfterMs ?? 60_000;
  const until = new Date(now.getTime() + horizonMs);
  const rows: NewRun[] = [];
  let dropped = 0;
  for (const s of due) {
    const definition = scheduleOf(s.definition);
    // A new schedule starts now: it does not make up for fires before it was deployed.
    const after = s.scheduled_until ?? now;
    const fires = fireTimes(definition, after, until).fires.slice(0, maxRuns);
    const decision = decideMissedRuns(s.missed_runs, fires, now, lateAfterMs);
    dropped += decision.dropped.length;
    const parameters = { ...JSON.parse(s.parameters), ...(definition.parameters ?? {}) };
    for (const { fire, status } of decision.create) {
      rows.push({
        id: scheduledRunKey(s.deployment, s.schedule_id, fire.at),
        pipeline: s.pipeline,
        deployment: s.deployment,
        state: status === "future" ? "Scheduled" : "Late",
        parameters,
        logical_date: fire.local.slice(0, 10),
        scheduled_at: fire.at,
        schedule_id: s.schedule_id,
        work_pool: s.work_pool,
        work_queue: s.work_queue,
        pipeline_file: s.pipeline_file,
      });
    }
  }
  return { rows, dropped, until, lateCutoff: new Date(now.getTime() - lateAfterMs) };
}

/** The deployment of each run created Late (missed fires): they count as late runs too. */
function createdLate(rows: readonly NewRun[], created: ReadonlySet<string>): (string | null)[] {
  return rows.filter((r) => r.state === "Late" && created.has(r.id)).map((r) => r.deployment);
}

/** The deployment of each run that `moved`, from the runs read with theirs. */
function deploymentsOf(
  runs: readonly { id: string; deployment: string | null }[],
  moved: readonly string[],
): (string | null)[] {
  const of = new Map(runs.map((r) => [r.id, r.deployment]));
  return moved.map((id) => of.get(id) ?? null);
}

const NOT_STARTED = "not started in time";

const schedules = new Map<string, ScheduleDocument>();

/**
 * The schedule a stored definition holds, one object per definition text: src/schedule caches
 * each schedule's compiled trigger (and where it last stopped) per object, which makes a pass over
 * 1,000 schedules take milliseconds instead of recompiling every pattern each time.
 */
function scheduleOf(definition: string): ScheduleDocument {
  let schedule = schedules.get(definition);
  if (schedule === undefined) {
    if (schedules.size > 50_000) schedules.clear();
    schedule = JSON.parse(definition) as ScheduleDocument;
    schedules.set(definition, schedule);
  }
  return schedule;
}

/** Active, unpaused schedules of unpaused deployments, with what their runs need. */
async function dueSchedules(db: DuckDBConnection): Promise<DueSchedule[]> {
  const reader = await db.runAndReadAll(
    `SELECT d.name AS deployment, d.pipeline, d.pipeline_file, d.parameters::VARCHAR AS parameters,
       d.work_pool, d.work_queue, d.missed_runs, s.id AS schedule_id, s.definition::VARCHAR AS definition,
       s.scheduled_until
     FROM deployments d JOIN schedules s ON s.deployment = d.name
     WHERE NOT d.paused AND s.active AND NOT s.paused
     ORDER BY d.name, s.position`,
  );
  return reader.getRowObjectsJS().map((r) => ({
    ...(r as unknown as DueSchedule),
    scheduled_until: r.scheduled_until === null ? null : new Date(String(r.scheduled_until)),
  }));
}

/** Scheduled runs due before `cutoff` become Late; returns the deployment of each. */
async function markLate(tx: Locked, now: Date, cutoff: Date): Promise<(string | null)[]> {
  const due = (
    await tx.db.runAndReadAll(
      "SELECT id, deployment FROM runs WHERE state = 'Scheduled' AND scheduled_at < $cutoff",
      { cutoff: timestampTZ(cutoff) },
    )
  )
    .getRowObjectsJS()
    .map((r) => ({ id: String(r.id), deployment: r.deployment as string | null }));
  const late = await transitionRuns(
    tx,
    { ids: due.map((r) => r.id) },
    { to: "Late", at: now, message: NOT_STARTED },
  );
  return deploymentsOf(due, late);
}
