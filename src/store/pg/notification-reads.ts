/**
 * What the console reads of notifications on PostgreSQL: a run's messages (the outbox) and the
 * freshness rules with whether a source's bars of a session are in (the overview's overdue seconds).
 */
import type { FreshnessRule } from "../../notify/channels-file.js";
import { type RunNotificationRow, toRunNotificationRow } from "../notify-outbox.js";
import { type PgDb, pgQuery } from "./transaction.js";

/** The messages about one run, oldest first (`runNotifications`' twin). */
export async function runNotificationsPg(db: PgDb, runId: string): Promise<RunNotificationRow[]> {
  const result = await pgQuery(
    db,
    `SELECT event, channel, attempts, created_at, next_attempt_at, delivered_at, failed_at, last_error
     FROM notify_outbox WHERE run_id = $1 ORDER BY created_at, key COLLATE "C" LIMIT 100`,
    [runId],
  );
  return result.rows.map(toRunNotificationRow);
}

/** The registered freshness rules, in file order. */
export async function freshnessRulesPg(db: PgDb): Promise<FreshnessRule[]> {
  const result = await pgQuery(db, "SELECT definition FROM notify_freshness ORDER BY position");
  return result.rows.map((r) => r.definition as FreshnessRule);
}

/** Whether `source` has a bar of `session` (`YYYY-MM-DD`). */
export async function hasSessionBarsPg(db: PgDb, source: string, session: string): Promise<boolean> {
  const result = await pgQuery(db, "SELECT 1 FROM bars_daily WHERE source = $1 AND date = $2::date LIMIT 1", [
    source,
    session,
  ]);
  return result.rows.length > 0;
}
