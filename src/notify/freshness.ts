/**
 * Freshness rules: "bars of source S for the latest session due are in bars_daily by HH:MM".
 *
 * - The session due at `now` is the latest XNYS session whose deadline (`by` on the session's
 *   date, in `timezone`) has passed. Holidays and weekends are no sessions, so they are never due:
 *   on 2025-07-04 the session due is 2025-07-03, whose bars are in by then.
 * - Missing at the deadline: one `Stale` message per (source, session, channel) (its outbox key
 *   makes it once, however many passes see it). When the bars of a session that was Stale arrive:
 *   one `Recovered`.
 * - `tickflow_data_freshness_seconds{source}`: seconds since the deadline of the session due, when
 *   its bars are missing; 0 when they are in (or no session is due yet). One number per source:
 *   the largest over its rules.
 */
import { DateTime } from "luxon";
import { previousSession, sessionOnOrBefore, XNYS_TIMEZONE } from "../calendar/index.js";
import type { OutboxMessage } from "../store/index.js";
import type { FreshnessRule } from "./channels-file.js";
import { type OutboxSource, outboxStoreOf } from "./outbox-store.js";

export interface DueSession {
  session: string;
  deadline: Date;
}

function deadlineOf(rule: FreshnessRule, session: string): Date {
  return DateTime.fromISO(`${session}T${rule.by}`, { zone: rule.timezone ?? XNYS_TIMEZONE }).toJSDate();
}

/** The latest session whose deadline has passed at `now`. */
export function sessionDue(rule: FreshnessRule, now: Date): DueSession {
  const today = DateTime.fromJSDate(now)
    .setZone(rule.timezone ?? XNYS_TIMEZONE)
    .toISODate()!;
  let session = sessionOnOrBefore(today);
  let deadline = deadlineOf(rule, session);
  if (deadline.getTime() > now.getTime()) {
    session = previousSession(session);
    deadline = deadlineOf(rule, session);
  }
  return { session, deadline };
}

/** The registered freshness rules. */
export async function freshnessRules(on: OutboxSource): Promise<FreshnessRule[]> {
  return (await outboxStoreOf(on).readNotify()).freshness as unknown as FreshnessRule[];
}

/** Seconds past `due`'s deadline at `now` while its bars are missing; 0 once they are in. */
export function secondsLate(due: DueSession, present: boolean, now: Date): number {
  return present ? 0 : Math.max(0, (now.getTime() - due.deadline.getTime()) / 1000);
}

/**
 * The gauge's seconds per source (the largest over its rules), asking `present` whether a
 * source's bars of a session are in: what the console's overview shows, on either backend.
 */
export async function overdueSeconds(
  rules: readonly FreshnessRule[],
  now: Date,
  present: (source: string, session: string) => Promise<boolean>,
): Promise<Map<string, number>> {
  const seconds = new Map<string, number>();
  for (const rule of rules) {
    const due = sessionDue(rule, now);
    const late = secondsLate(due, await present(rule.source, due.session), now);
    seconds.set(rule.source, Math.max(seconds.get(rule.source) ?? 0, late));
  }
  return seconds;
}

export interface FreshnessResult {
  /** Seconds per source, as the gauge shows them. */
  seconds: Map<string, number>;
  /** Keys of the messages this check wrote. */
  enqueued: string[];
}

/** Checks every rule at `now`: the gauge values, and the Stale/Recovered messages, written once. */
export async function checkFreshness(
  on: OutboxSource,
  rules: readonly FreshnessRule[],
  now: Date,
  options: { enqueue?: boolean } = {},
): Promise<FreshnessResult> {
  const seconds = new Map<string, number>();
  const enqueued: string[] = [];
  const outbox = outboxStoreOf(on);
  for (const rule of rules) {
    const due = sessionDue(rule, now);
    await outbox.freshness(async (tx) => {
      const present = await tx.hasBars(rule.source, due.session);
      const late = secondsLate(due, present, now);
      seconds.set(rule.source, Math.max(seconds.get(rule.source) ?? 0, late));
      if (options.enqueue === false) return;
      const facts = (session: string) => ({
        source: rule.source,
        session,
        deadline: DateTime.fromJSDate(deadlineOf(rule, session))
          .setZone(rule.timezone ?? XNYS_TIMEZONE)
          .toFormat("yyyy-MM-dd HH:mm ZZZZ"),
      });
      const messages: OutboxMessage[] = [];
      for (const channel of rule.to) {
        if (!present)
          messages.push({
            key: `freshness:${rule.source}:${due.session}:Stale:${channel}`,
            event: "Stale",
            channel,
            facts: { ...facts(due.session), state: "Stale" },
          });
        for (const session of await tx.staleSessions(rule.source, channel)) {
          if (!(await tx.hasBars(rule.source, session))) continue;
          messages.push({
            key: `freshness:${rule.source}:${session}:Recovered:${channel}`,
            event: "Recovered",
            channel,
            facts: facts(session),
          });
        }
      }
      enqueued.push(...(await tx.enqueue(messages, now)));
    });
  }
  return { seconds, enqueued };
}
