/**
 * Retention ages (`400d`, `8w`, `2y`, `504 sessions`) and the cutoffs they give. Rows strictly
 * older than the cutoff go; a row exactly at the cutoff stays.
 */
import { DateTime } from "luxon";
import { isValidIsoDate, sessionsBack, XNYS_TIMEZONE } from "../calendar/xnys.js";

export type Age = { unit: "days" | "weeks" | "years"; count: number } | { unit: "sessions"; count: number };

export interface Cutoff {
  /** `YYYY-MM-DD`: rows dated before it go. */
  date: string;
  /** Rows stamped before this instant go (for market data: the start of `date` in New York). */
  instant: Date;
}

const AGE_RE = /^([1-9]\d*)(d|w|y| sessions?)$/;

/** Parses an `older_than` value (already checked against RETENTION_AGE_PATTERN by the params). */
export function parseAge(text: string): Age {
  const m = AGE_RE.exec(text);
  if (!m) throw new Error(`invalid age "${text}": expected e.g. 400d, 8w, 2y or 504 sessions`);
  const count = Number(m[1]);
  const unit = m[2] === "d" ? "days" : m[2] === "w" ? "weeks" : m[2] === "y" ? "years" : "sessions";
  return { unit, count };
}

/**
 * Cutoff for market data (dated rows), counted back from the run date: `30d` keeps dates on or
 * after runDate - 30 days; `N sessions` keeps the N NYSE sessions ending on or before the run date
 * (the run date's own session included when it is one, as `days_back` counts).
 */
export function marketCutoff(age: Age, runDate: string): Cutoff {
  if (!isValidIsoDate(runDate)) throw new Error(`invalid run date "${runDate}"`);
  const day = DateTime.fromISO(runDate, { zone: XNYS_TIMEZONE });
  const date = age.unit === "sessions" ? sessionsBack(runDate, age.count).start : isoDate(minus(day, age));
  return { date, instant: startOfDay(date) };
}

/**
 * Cutoff for run history (timestamped rows), counted back from `now` (wall-clock time: run history
 * ages by when it was recorded, whatever logical date the current run has). `N sessions` counts
 * back from today's date in New York and cuts at the start of that session's day.
 */
export function historyCutoff(age: Age, now: Date): Cutoff {
  const here = DateTime.fromJSDate(now, { zone: XNYS_TIMEZONE });
  if (age.unit === "sessions") {
    const date = sessionsBack(isoDate(here), age.count).start;
    return { date, instant: startOfDay(date) };
  }
  const instant = minus(here, age);
  return { date: isoDate(instant), instant: instant.toJSDate() };
}

function minus(at: DateTime, age: Age): DateTime {
  return at.minus({ [age.unit]: age.count });
}

function isoDate(at: DateTime): string {
  const text = at.toISODate();
  if (text === null) throw new Error(`invalid date ${at.invalidExplanation ?? ""}`);
  return text;
}

/** Midnight at the start of `date` in New York. */
function startOfDay(date: string): Date {
  return DateTime.fromISO(date, { zone: XNYS_TIMEZONE }).startOf("day").toJSDate();
}
