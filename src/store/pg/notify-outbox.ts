/**
 * The notification outbox on PostgreSQL: the twins of `../notify-outbox.ts`. Run events are
 * written by `createRunsPg` and `transitionRunsPg` in the transaction of the state change (a
 * committed change has its messages, a rolled-back one none); keys are unique, so an event offered
 * twice, even by two daemons at once, is one message (`ON CONFLICT DO NOTHING` waits for the other
 * insert and skips).
 *
 * Unlike DuckDB's single daemon, several daemons may run a sender: `claimDueMessagesPg` takes the
 * due rows `FOR UPDATE SKIP LOCKED` and holds them (their `next_attempt_at` moved ahead by the
 * hold) so that no other sender takes them meanwhile; a sender that dies holding some leaves them
 * due again when the hold runs out.
 */
import {
  type AttemptOutcome,
  type OutboxMessage,
  type OutboxRow,
  RUN_EVENTS,
  type RunNotificationRow,
} from "../notify-outbox.js";
import type { RunState } from "../states.js";
import { asDate, asNumber, asString } from "../values.js";
import { type PgDb, pgQuery } from "./transaction.js";

/**
 * Outbox rows for the runs that just entered `state` and the rules that match them, as DuckDB's
 * `enqueueRunEvents` (the same events, conditions, facts and keys `run_id:event:channel`). No
 * probe of the rules first: PostgreSQL plans the statement in well under a millisecond.
 */
export async function enqueueRunEventsPg(
  db: PgDb,
  runIds: readonly string[],
  state: RunState,
  at: Date,
): Promise<void> {
  const events = RUN_EVENTS[state];
  if (events === undefined || runIds.length === 0) return;
  const failedTask = (column: string) => `(SELECT t.${column} FROM task_runs t
    WHERE t.run_id = m.id AND t.state IN ('Failed', 'Crashed') ORDER BY t.ended_at NULLS LAST, t.task_id LIMIT 1)`;
  await pgQuery(
    db,
    `INSERT INTO notify_outbox (key, event, channel, run_id, deployment, facts, created_at, next_attempt_at, attempts)
     SELECT DISTINCT ON (key) key, event, channel, id, deployment, facts, $3, $3, 0
     FROM (
       SELECT m.id || ':' || n.event || ':' || n.channel AS key, n.event, n.channel, m.id, m.deployment,
         jsonb_build_object(
           'deployment', m.deployment, 'run_id', m.id, 'pipeline', m.pipeline, 'state', m.state,
           'logical_date', to_char(m.logical_date, 'YYYY-MM-DD'),
           'task', ${failedTask("task_id")},
           'error', coalesce(${failedTask("error")}, m.error),
           'quality', CASE WHEN n.event = 'Quality' THEN (
             SELECT jsonb_object_agg(check_name, n) FROM (
               SELECT q.check_name, count(*) AS n FROM quality_results q
               WHERE q.run_id = m.id AND q.severity = 'error' GROUP BY q.check_name) c) END
         ) AS facts
       FROM runs m
       JOIN notify_rules n ON n.event = ANY($2::text[])
         AND (n.deployment IS NULL OR n.deployment = m.deployment)
       WHERE m.id = ANY($1::text[]) AND m.deployment IS NOT NULL
         AND (n.event NOT IN ('Recovered', 'Quality')
           OR (n.event = 'Recovered' AND (
             SELECT p.state FROM runs p
             WHERE p.deployment = m.deployment AND p.id <> m.id
               AND p.state IN ('Completed', 'Failed', 'Crashed') AND p.ended_at IS NOT NULL
             ORDER BY p.ended_at DESC LIMIT 1
           ) IN ('Failed', 'Crashed'))
           OR (n.event = 'Quality' AND EXISTS (
             SELECT 1 FROM quality_results q WHERE q.run_id = m.id AND q.severity = 'error')))
     ) s
     ON CONFLICT DO NOTHING`,
    [[...runIds], [...events], at],
  );
}

/** Inserts messages whose key is new, in one statement; returns the keys inserted (in the order given). */
export async function enqueueMessagesPg(
  db: PgDb,
  messages: readonly OutboxMessage[],
  at: Date,
): Promise<string[]> {
  if (messages.length === 0) return [];
  const { rows } = await pgQuery<{ key: string }>(
    db,
    `INSERT INTO notify_outbox (key, event, channel, run_id, deployment, facts, created_at, next_attempt_at, attempts)
     SELECT DISTINCT ON (m.key) m.key, m.event, m.channel, m.run_id, m.deployment, m.facts::jsonb, $7, $7, 0
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
       AS m(key, event, channel, run_id, deployment, facts)
     ON CONFLICT DO NOTHING RETURNING key`,
    [
      messages.map((m) => m.key),
      messages.map((m) => m.event),
      messages.map((m) => m.channel),
      messages.map((m) => m.runId ?? null),
      messages.map((m) => m.deployment ?? null),
      messages.map((m) => JSON.stringify(m.facts)),
      at,
    ],
  );
  const inserted = new Set(rows.map((r) => r.key));
  return [...new Set(messages.map((m) => m.key))].filter((key) => inserted.has(key));
}

function toOutboxRow(r: Record<string, unknown>): OutboxRow {
  return {
    key: String(r.key),
    event: String(r.event),
    channel: String(r.channel),
    run_id: asString(r.run_id),
    deployment: asString(r.deployment),
    facts: r.facts as Record<string, unknown>,
    attempts: asNumber(r.attempts),
    created_at: asDate(r.created_at)!,
  };
}

/**
 * The messages due at `now` (not delivered, not given up, next attempt reached), oldest first, at
 * most `limit`, held for `holdMs`: their next attempt moves to `now + holdMs`, so another sender
 * passes them over until this one records its attempts (`recordAttemptPg`) or the hold runs out.
 * Rows another sender is claiming at this instant are skipped, not waited for.
 */
export async function claimDueMessagesPg(
  db: PgDb,
  now: Date,
  limit: number,
  holdMs: number,
): Promise<OutboxRow[]> {
  const { rows } = await pgQuery(
    db,
    `WITH due AS (
       SELECT key FROM notify_outbox
       WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
       ORDER BY created_at, key LIMIT $2
       FOR UPDATE SKIP LOCKED)
     UPDATE notify_outbox o SET next_attempt_at = $3 FROM due WHERE o.key = due.key
     RETURNING o.key, o.event, o.channel, o.run_id, o.deployment, o.facts, o.attempts, o.created_at`,
    [now, limit, new Date(now.getTime() + holdMs)],
  );
  // RETURNING of an UPDATE has no order of its own.
  return rows
    .map(toOutboxRow)
    .sort((a, b) => a.created_at.getTime() - b.created_at.getTime() || (a.key < b.key ? -1 : 1));
}

/** Records an attempt's outcome (attempts + 1, last error, delivered_at or failed_at, or the next attempt). */
export async function recordAttemptPg(
  db: PgDb,
  key: string,
  outcome: AttemptOutcome,
  at: Date,
): Promise<void> {
  if (outcome.delivered) {
    await pgQuery(db, "UPDATE notify_outbox SET attempts = attempts + 1, delivered_at = $2 WHERE key = $1", [
      key,
      at,
    ]);
  } else if ("giveUp" in outcome) {
    await pgQuery(
      db,
      "UPDATE notify_outbox SET attempts = attempts + 1, last_error = $3, failed_at = $2 WHERE key = $1",
      [key, at, outcome.error],
    );
  } else {
    await pgQuery(
      db,
      "UPDATE notify_outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE key = $1",
      [key, outcome.error, outcome.retryAt],
    );
  }
}

/** The outbox as stored, as `outboxRows` gives DuckDB's (facts as JSON text, attempts a number). */
export async function outboxRowsPg(db: PgDb): Promise<Record<string, unknown>[]> {
  const { rows } = await pgQuery(
    db,
    `SELECT key, event, channel, run_id, deployment, facts::text AS facts, attempts, last_error,
       delivered_at, failed_at FROM notify_outbox ORDER BY created_at, key COLLATE "C"`,
  );
  return rows;
}
