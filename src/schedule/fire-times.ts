import { closureReason, isSession } from "../calendar/index.js";
import { parseDuration } from "../config/duration.js";
import { cronTrigger } from "./cron.js";
import type { ScheduleDocument } from "./deployments-file.js";
import { intervalTrigger } from "./interval.js";
import { rruleTrigger } from "./rrule.js";
import { remembering, type Trigger } from "./trigger.js";
import { localIso } from "./wall-clock.js";

/** A time a schedule fires: the instant, its local time in the schedule's zone, and DST notes. */
export interface FireTime {
  /** The instant (UTC). */
  at: Date;
  /** ISO 8601 with the offset of the schedule's zone, e.g. 2026-03-08T03:00:00-04:00. */
  local: string;
  /** e.g. "DST starts: 02:30 does not exist, fired at 03:00 EDT"; empty for an ordinary time. */
  notes: string[];
}

/** A time the trigger gave that the calendar dropped. */
export interface SkippedFire {
  at: Date;
  local: string;
  /** The closure: "Good Friday", "Weekend", ... */
  reason: string;
}

export interface FireWindow {
  fires: FireTime[];
  skipped: SkippedFire[];
}

/** A schedule ready to enumerate: its zone and trigger, and the calendar that filters it. */
export interface CompiledSchedule {
  zone: string;
  active: boolean;
  calendar: ScheduleDocument["calendar"];
  trigger: Trigger;
}

const compiled = new WeakMap<ScheduleDocument, CompiledSchedule>();

/** The schedule's trigger (cached per schedule object). Throws on a schedule the loader rejects. */
export function compileSchedule(schedule: ScheduleDocument): CompiledSchedule {
  let c = compiled.get(schedule);
  if (c) return c;
  const zone = schedule.timezone ?? "UTC";
  let trigger: Trigger;
  if (schedule.cron !== undefined) trigger = cronTrigger(schedule.cron, zone);
  else if (schedule.rrule !== undefined) trigger = rruleTrigger(schedule.rrule, zone);
  else if (schedule.interval !== undefined) {
    const every = parseDuration(schedule.interval);
    if (every === undefined) throw new RangeError(`invalid interval "${schedule.interval}"`);
    trigger = intervalTrigger(every, zone, schedule.anchor_date);
  } else throw new RangeError("a schedule needs one of cron, interval, rrule");
  c = { zone, active: schedule.active !== false, calendar: schedule.calendar, trigger: remembering(trigger) };
  compiled.set(schedule, c);
  return c;
}

/** Why the calendar drops a fire at this local date, or undefined when it keeps it. */
function calendarClosure(calendar: CompiledSchedule["calendar"], localDate: string): string | undefined {
  if (calendar !== "XNYS") return undefined;
  try {
    return isSession(localDate) ? undefined : (closureReason(localDate) ?? "closed");
  } catch {
    return "outside the XNYS calendar (1990-2100)";
  }
}

/**
 * Walks the fires after `after`; `keep` decides when to stop. Returns the kept fires and the
 * skipped ones met on the way.
 */
function walk(
  schedule: ScheduleDocument,
  after: Date,
  stop: (at: number, kept: number) => boolean,
  maxCandidates: number,
): FireWindow {
  const out: FireWindow = { fires: [], skipped: [] };
  const c = compileSchedule(schedule);
  if (!c.active) return out;
  let t = after.getTime();
  for (let i = 0; i < maxCandidates; i++) {
    const next = c.trigger.next(t);
    if (!next || stop(next.at, out.fires.length)) break;
    t = next.at;
    const local = localIso(c.zone, next.at);
    const reason = calendarClosure(c.calendar, local.slice(0, 10));
    if (reason) out.skipped.push({ at: new Date(next.at), local, reason });
    else out.fires.push({ at: new Date(next.at), local, notes: next.notes });
  }
  return out;
}

/** The fires in `(after, until]`, and the ones the calendar skipped there. Inactive: nothing. */
export function fireTimes(schedule: ScheduleDocument, after: Date, until: Date): FireWindow {
  const end = until.getTime();
  return walk(schedule, after, (at) => at > end, Number.POSITIVE_INFINITY);
}

/**
 * The next `n` fires strictly after `after`, with the skipped ones in between. Gives up after
 * `maxCandidates` trigger times (a pattern the calendar always rejects would never end).
 */
export function nextFireTimes(
  schedule: ScheduleDocument,
  after: Date,
  n: number,
  maxCandidates = 100_000,
): FireWindow {
  if (n <= 0) return { fires: [], skipped: [] };
  return walk(schedule, after, (_at, kept) => kept >= n, maxCandidates);
}
