/**
 * The notification outbox: messages to send, written in the transaction of the state change they
 * tell of, so that a crash neither loses one nor makes one twice (its key is unique: an event
 * offered again is a no-op). Rows name their channel; secrets are resolved when sending, never here.
 *
 * Run events come from the rules registered with the deployments (`notify_rules`), evaluated here
 * by `enqueueRunEvents`, which `transitionRuns` and `createRuns` call inside their transaction:
 * the store stays the one owner of run state, and of what a change of it announces.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { listValue, VARCHAR } from "@duckdb/node-api";
import type { RunState } from "./states.js";
import { asDate, asNumber, asString, rowObjects, timestampTZ } from "./values.js";

/** The events a run entering `state` may announce (Completed: Recovered, and quality errors). */
export const RUN_EVENTS: Partial<Record<RunState, readonly string[]>> = {
  Failed: ["Failed", "Quality"],
  Crashed: ["Crashed"],
  Late: ["Late"],
  Cancelled: ["Cancelled"],
  Completed: ["Recovered", "Quality"],
};

/**
 * Outbox rows for the runs that just entered `state` and the rules that match them: Failed,
 * Crashed, Late, Cancelled as such; Recovered when the run Completed and the deployment's previous
 * finished run (Cancelled ones aside) Failed or Crashed; Quality when the run ended with
 * `quality_results` of severity error. Keys are `run_id:event:channel`. Runs without a deployment
 * (`tickflow run`) announce nothing. Call inside the transaction that moved the runs.
 */
export async function enqueueRunEvents(
  db: DuckDBConnection,
  runIds: readonly string[],
  state: RunState,
  at: Date,
): Promise<void> {
  const events = RUN_EVENTS[state];
  if (events === undefined || runIds.length === 0) return;
  // Most changes match no rule: a probe of the (small) rules table costs a fraction of the
  // statement below, whose correlated subqueries take DuckDB ~10 ms to plan.
  // The event words are ours (RUN_EVENTS), safe to write into the statement.
  const ruled = await db.runAndReadAll(
    `SELECT 1 FROM notify_rules WHERE event IN (${events.map((e) => `'${e}'`).join(", ")}) LIMIT 1`,
  );
  if (ruled.currentRowCount === 0) return;
  await db.run(
    `INSERT INTO notify_outbox (key, event, channel, run_id, deployment, facts, created_at, next_attempt_at, attempts)
     SELECT DISTINCT ON (key) key, event, channel, id, deployment, facts::JSON, $at, $at, 0
     FROM (
       SELECT m.id || ':' || n.event || ':' || n.channel AS key, n.event, n.channel, m.id, m.deployment,
         json_object(
           'deployment', m.deployment, 'run_id', m.id, 'pipeline', m.pipeline, 'state', m.state,
           'logical_date', strftime(m.logical_date, '%Y-%m-%d'),
           'task', (SELECT first(t.task_id ORDER BY t.ended_at NULLS LAST) FROM task_runs t
                    WHERE t.run_id = m.id AND t.state IN ('Failed', 'Crashed')),
           'error', coalesce((SELECT first(t.error ORDER BY t.ended_at NULLS LAST) FROM task_runs t
                    WHERE t.run_id = m.id AND t.state IN ('Failed', 'Crashed')), m.error),
           'quality', CASE WHEN n.event = 'Quality' THEN (
             SELECT json_group_object(check_name, n) FROM (
               SELECT q.check_name, count(*) AS n FROM quality_results q
               WHERE q.run_id = m.id AND q.severity = 'error' GROUP BY q.check_name)) END
         )::VARCHAR AS facts
       FROM runs m
       JOIN notify_rules n ON n.event IN (SELECT unnest($events::VARCHAR[]))
         AND (n.deployment IS NULL OR n.deployment = m.deployment)
       WHERE m.id IN (SELECT unnest($ids::VARCHAR[])) AND m.deployment IS NOT NULL
         AND (n.event NOT IN ('Recovered', 'Quality')
           OR (n.event = 'Recovered' AND (
             SELECT arg_max(p.state, p.ended_at) FROM runs p
             WHERE p.deployment = m.deployment AND p.id <> m.id
               AND p.state IN ('Completed', 'Failed', 'Crashed') AND p.ended_at IS NOT NULL
           ) IN ('Failed', 'Crashed'))
           OR (n.event = 'Quality' AND EXISTS (
             SELECT 1 FROM quality_results q WHERE q.run_id = m.id AND q.severity = 'error')))
     )
     ON CONFLICT DO NOTHING`,
    { ids: listValue([...runIds]), events: listValue([...events]), at: timestampTZ(at) },
  );
}

/** A message not tied to a run's state (a freshness breach, a test), keyed by the caller. */
export interface OutboxMessage {
  key: string;
  event: string;
  channel: string;
  runId?: string | null;
  deployment?: string | null;
  facts: Record<string, unknown>;
}

/** Inserts messages whose key is new; returns the keys inserted. */
export async function enqueueMessages(
  db: DuckDBConnection,
  messages: readonly OutboxMessage[],
  at: Date,
): Promise<string[]> {
  const inserted: string[] = [];
  for (const m of messages) {
    const reader = await db.runAndReadAll(
      `INSERT INTO notify_outbox (key, event, channel, run_id, deployment, facts, created_at, next_attempt_at, attempts)
       VALUES ($key, $event, $channel, $run_id, $deployment, $facts::JSON, $at, $at, 0)
       ON CONFLICT DO NOTHING RETURNING key`,
      {
        key: m.key,
        event: m.event,
        channel: m.channel,
        run_id: m.runId ?? null,
        deployment: m.deployment ?? null,
        facts: JSON.stringify(m.facts),
        at: timestampTZ(at),
      },
      { run_id: VARCHAR, deployment: VARCHAR },
    );
    if (reader.currentRowCount > 0) inserted.push(m.key);
  }
  return inserted;
}

/** An outbox row as the sender sees it. */
export interface OutboxRow {
  key: string;
  event: string;
  channel: string;
  run_id: string | null;
  deployment: string | null;
  facts: Record<string, unknown>;
  attempts: number;
  created_at: Date;
}

/** Messages due now (not delivered, not given up, next attempt reached), oldest first. */
export async function dueMessages(db: DuckDBConnection, now: Date, limit = 50): Promise<OutboxRow[]> {
  const reader = await db.runAndReadAll(
    `SELECT key, event, channel, run_id, deployment, facts::VARCHAR AS facts, attempts, created_at
     FROM notify_outbox
     WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $now
     ORDER BY created_at, key LIMIT $limit`,
    { now: timestampTZ(now), limit },
  );
  return reader.getRowObjectsJS().map((r) => ({
    key: String(r.key),
    event: String(r.event),
    channel: String(r.channel),
    run_id: r.run_id === null ? null : String(r.run_id),
    deployment: r.deployment === null ? null : String(r.deployment),
    facts: JSON.parse(String(r.facts)) as Record<string, unknown>,
    attempts: Number(r.attempts),
    created_at: new Date(String(r.created_at)),
  }));
}

/** What one attempt came to: delivered, to try again at `retryAt`, or given up. */
export type AttemptOutcome =
  | { delivered: true }
  | { delivered: false; error: string; retryAt: Date }
  | { delivered: false; error: string; giveUp: true };

/** Records an attempt's outcome (attempts + 1, last error, delivered_at or failed_at). */
export async function recordAttempt(
  db: DuckDBConnection,
  key: string,
  outcome: AttemptOutcome,
  at: Date,
): Promise<void> {
  const values = { key, at: timestampTZ(at) };
  if (outcome.delivered) {
    await db.run(
      "UPDATE notify_outbox SET attempts = attempts + 1, delivered_at = $at WHERE key = $key",
      values,
    );
  } else if ("giveUp" in outcome) {
    await db.run(
      "UPDATE notify_outbox SET attempts = attempts + 1, last_error = $error, failed_at = $at WHERE key = $key",
      { ...values, error: outcome.error },
    );
  } else {
    await db.run(
      `UPDATE notify_outbox SET attempts = attempts + 1, last_error = $error, next_attempt_at = $retry
       WHERE key = $key`,
      { key, error: outcome.error, retry: timestampTZ(outcome.retryAt) },
    );
  }
}

/** A run's message to one channel, and how its delivery went. */
export interface RunNotificationRow {
  event: string;
  channel: string;
  attempts: number;
  created_at: Date;
  next_attempt_at: Date;
  delivered_at: Date | null;
  failed_at: Date | null;
  last_error: string | null;
}

/** The messages about one run, oldest first (a handful: one per event and channel). */
export async function runNotifications(db: DuckDBConnection, runId: string): Promise<RunNotificationRow[]> {
  const reader = await db.runAndReadAll(
    `SELECT event, channel, attempts, created_at, next_attempt_at, delivered_at, failed_at, last_error
     FROM notify_outbox WHERE run_id = $run_id ORDER BY created_at, key LIMIT 100`,
    { run_id: runId },
  );
  return rowObjects(reader).map(toRunNotificationRow);
}

export function toRunNotificationRow(r: Record<string, unknown>): RunNotificationRow {
  return {
    event: String(r.event),
    channel: String(r.channel),
    attempts: asNumber(r.attempts),
    created_at: asDate(r.created_at)!,
    next_attempt_at: asDate(r.next_attempt_at)!,
    delivered_at: asDate(r.delivered_at),
    failed_at: asDate(r.failed_at),
    last_error: asString(r.last_error),
  };
}

/** The outbox as stored (tests, `tickflow query` shows the same). */
export async function outboxRows(db: DuckDBConnection): Promise<Record<string, unknown>[]> {
  const reader = await db.runAndReadAll(
    `SELECT key, event, channel, run_id, deployment, facts::VARCHAR AS facts, attempts, last_error,
       delivered_at, failed_at FROM notify_outbox ORDER BY created_at, key`,
  );
  return reader.getRowObjectsJS() as Record<string, unknown>[];
}
