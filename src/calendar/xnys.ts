/**
 * NYSE (XNYS) trading calendar: sessions, full-day closures and early closes, 1990-2100.
 *
 * Dates are ISO calendar dates (`YYYY-MM-DD`) in America/New_York. Internally every date is an
 * integer "day number" (days since 1970-01-01, proleptic Gregorian, no time zone involved), so the
 * hot paths are plain integer arithmetic and array lookups; luxon is used only to turn a local
 * close time into a UTC instant.
 *
 * Each year's closures, early closes and session list are computed once, on first use, and cached.
 */
import { DateTime } from "luxon";

export const XNYS_TIMEZONE = "America/New_York";

/** Earliest and latest years the rules below are maintained for. Dates outside throw a RangeError. */
export const XNYS_FIRST_YEAR = 1990;
export const XNYS_LAST_YEAR = 2100;

export interface XnysHoliday {
  date: string;
  name: string;
}

export interface XnysEarlyClose {
  date: string;
  /** Local (America/New_York) close time, `HH:MM`. */
  close: string;
  name: string;
}

export interface XnysSessionRange {
  start: string;
  end: string;
}

const REGULAR_CLOSE = "16:00";
const EARLY_CLOSE = "13:00";
/** Until 1993 the NYSE's scheduled early close was 14:00 rather than 13:00. */
const EARLY_CLOSE_BEFORE_1993 = "14:00";

const SUNDAY = 0;
const MONDAY = 1;
const TUESDAY = 2;
const WEDNESDAY = 3;
const THURSDAY = 4;
const SATURDAY = 6;

// ---------------------------------------------------------------------------------------------
// Integer day arithmetic
// ---------------------------------------------------------------------------------------------

/** Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function dayNumber(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const monthFromMarch = (month + 9) % 12;
  const dayOfYear = Math.floor((153 * monthFromMarch + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/** 0 = Sunday ... 6 = Saturday. 1970-01-01 was a Thursday. */
function weekday(day: number): number {
  return (((day + THURSDAY) % 7) + 7) % 7;
}

function isWeekend(day: number): boolean {
  const wd = weekday(day);
  return wd === SATURDAY || wd === SUNDAY;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function formatIso(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, "0")}-${month < 10 ? "0" : ""}${month}-${day < 10 ? "0" : ""}${day}`;
}

/** The n-th (1-based) given weekday of a month. */
function nthWeekdayOfMonth(year: number, month: number, wd: number, n: number): number {
  const first = dayNumber(year, month, 1);
  return first + ((wd - weekday(first) + 7) % 7) + 7 * (n - 1);
}

function lastWeekdayOfMonth(year: number, month: number, wd: number): number {
  const last = dayNumber(year, month, daysInMonth(year, month));
  return last - ((weekday(last) - wd + 7) % 7);
}

/** Western (Gregorian) Easter Sunday, anonymous Gregorian algorithm (Meeus/Jones/Butcher). */
function easterSunday(year: number): number {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return dayNumber(year, month, day);
}

/** Fixed-date holiday observed on the nearest weekday: Saturday -> Friday, Sunday -> Monday. */
function nearestWeekday(day: number): number {
  const wd = weekday(day);
  if (wd === SATURDAY) return day - 1;
  if (wd === SUNDAY) return day + 1;
  return day;
}

// ---------------------------------------------------------------------------------------------
// Date parsing
// ---------------------------------------------------------------------------------------------

const CHAR_0 = 48;
const CHAR_DASH = 45;

/** Parses a strict `YYYY-MM-DD` string into its parts; undefined unless it is a real calendar date. */
function parseParts(s: string): { year: number; month: number; day: number } | undefined {
  if (s.length !== 10 || s.charCodeAt(4) !== CHAR_DASH || s.charCodeAt(7) !== CHAR_DASH) return undefined;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 7);
  const day = digits(s, 8, 10);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return { year, month, day };
}

/** Decimal value of s[from, to), or -1 if any character is not an ASCII digit. */
function digits(s: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = s.charCodeAt(i) - CHAR_0;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** The date in New York at `at` (default now): a run's logical date when none is given. */
export function xnysDate(at: Date = new Date()): string {
  return DateTime.fromJSDate(at).setZone(XNYS_TIMEZONE).toISODate()!;
}

/** True for a real calendar date written exactly as `YYYY-MM-DD` (no range restriction). */
export function isValidIsoDate(s: string): boolean {
  return typeof s === "string" && parseParts(s) !== undefined;
}

/**
 * Throws the RangeError any other function would throw for `date` (malformed, impossible, outside
 * 1990-2100): callers check their input up front, with the calendar's own words.
 */
export function assertXnysDate(date: string): void {
  locate(date);
}

function assertSupportedYear(year: number, what: string): void {
  if (year < XNYS_FIRST_YEAR || year > XNYS_LAST_YEAR) {
    throw new RangeError(
      `XNYS calendar: ${what} is outside the supported range ${XNYS_FIRST_YEAR}-${XNYS_LAST_YEAR}`,
    );
  }
}

/** Quotes a string argument; names the type of anything else (callers may not be type-checked). */
function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${String(value)}`;
  return value === null ? "null" : typeof value;
}

interface Located {
  calendar: YearCalendar;
  /** Days since Jan 1 of calendar.year. */
  offset: number;
}

/** Validates a date string and finds its year's calendar. Throws RangeError naming the bad value. */
function locate(date: string): Located {
  const parts = typeof date === "string" ? parseParts(date) : undefined;
  if (parts === undefined) {
    throw new RangeError(
      `XNYS calendar: invalid date ${describeValue(date)}; expected a real calendar date as YYYY-MM-DD`,
    );
  }
  assertSupportedYear(parts.year, `date "${date}"`);
  const calendar = yearCalendar(parts.year);
  return { calendar, offset: dayNumber(parts.year, parts.month, parts.day) - calendar.firstDay };
}

// ---------------------------------------------------------------------------------------------
// NYSE rules
// ---------------------------------------------------------------------------------------------

/** Unscheduled full-day closures (weather, national days of mourning, ...) since 1990. */
const SPECIAL_CLOSURES: readonly XnysHoliday[] = [
  { date: "1994-04-27", name: "National Day of Mourning for Richard Nixon" },
  { date: "2001-09-11", name: "September 11 attacks" },
  { date: "2001-09-12", name: "September 11 attacks" },
  { date: "2001-09-13", name: "September 11 attacks" },
  { date: "2001-09-14", name: "September 11 attacks" },
  { date: "2004-06-11", name: "National Day of Mourning for Ronald Reagan" },
  { date: "2007-01-02", name: "National Day of Mourning for Gerald Ford" },
  { date: "2012-10-29", name: "Hurricane Sandy" },
  { date: "2012-10-30", name: "Hurricane Sandy" },
  { date: "2018-12-05", name: "National Day of Mourning for George H.W. Bush" },
  { date: "2025-01-09", name: "National Day of Mourning for Jimmy Carter" },
];

/**
 * One-off early closes that no rule produces: exchange_calendars' XNYS `special_closes_adhoc` (its
 * 2013-07-03 is the Wednesday rule below). pandas_market_calendars leaves 1999-12-31 out as disputed.
 */
const SPECIAL_EARLY_CLOSES: readonly XnysEarlyClose[] = [
  { date: "1997-12-26", close: EARLY_CLOSE, name: "Day after Christmas" },
  { date: "1999-12-31", close: EARLY_CLOSE, name: "New Year's Eve 1999" },
  { date: "2003-12-26", close: EARLY_CLOSE, name: "Day after Christmas" },
];

interface DatedName {
  day: number;
  name: string;
}

function dayOfIso(iso: string): number {
  const parts = parseParts(iso);
  if (parts === undefined) throw new Error(`XNYS calendar: bad built-in date ${iso}`);
  return dayNumber(parts.year, parts.month, parts.day);
}

/** Weekday full-day closures of a year (regular holidays as observed, plus special closures). */
function computeClosures(year: number): DatedName[] {
  const closures: DatedName[] = [];

  // New Year's Day: Sunday -> Monday Jan 2. Saturday -> not observed (NYSE Rule 7.2: the Friday
  // before would be Dec 31, the last trading day of the prior year, which stays open).
  const newYear = dayNumber(year, 1, 1);
  if (weekday(newYear) !== SATURDAY) closures.push({ day: nearestWeekday(newYear), name: "New Year's Day" });

  if (year >= 1998) {
    closures.push({ day: nthWeekdayOfMonth(year, 1, MONDAY, 3), name: "Martin Luther King Jr. Day" });
  }
  closures.push({ day: nthWeekdayOfMonth(year, 2, MONDAY, 3), name: "Washington's Birthday" });
  closures.push({ day: easterSunday(year) - 2, name: "Good Friday" });
  closures.push({ day: lastWeekdayOfMonth(year, 5, MONDAY), name: "Memorial Day" });
  if (year >= 2022) {
    closures.push({
      day: nearestWeekday(dayNumber(year, 6, 19)),
      name: "Juneteenth National Independence Day",
    });
  }
  closures.push({ day: nearestWeekday(dayNumber(year, 7, 4)), name: "Independence Day" });
  closures.push({ day: nthWeekdayOfMonth(year, 9, MONDAY, 1), name: "Labor Day" });
  closures.push({ day: nthWeekdayOfMonth(year, 11, THURSDAY, 4), name: "Thanksgiving Day" });
  closures.push({ day: nearestWeekday(dayNumber(year, 12, 25)), name: "Christmas Day" });

  const prefix = `${year}-`;
  for (const special of SPECIAL_CLOSURES) {
    if (special.date.startsWith(prefix)) closures.push({ day: dayOfIso(special.date), name: special.name });
  }
  return closures;
}

/** Scheduled early closes of a year, before removing any that are not sessions. */
function computeEarlyCloses(year: number): (DatedName & { close: string })[] {
  const result: (DatedName & { close: string })[] = [];
  const earlyClose = year >= 1993 ? EARLY_CLOSE : EARLY_CLOSE_BEFORE_1993;

  // Independence Day (from 1995). July 3 closes early when it is Mon/Tue/Thu (Fri July 3 is the
  // observed holiday itself). A Wednesday July 3 has closed early since 2013; before that the early
  // close was the Friday after (July 5) instead.
  if (year >= 1995) {
    const july3 = dayNumber(year, 7, 3);
    const wd = weekday(july3);
    if (wd === MONDAY || wd === TUESDAY || wd === THURSDAY || (wd === WEDNESDAY && year >= 2013)) {
      result.push({ day: july3, name: "Day before Independence Day", close: earlyClose });
    } else if (wd === WEDNESDAY) {
      result.push({ day: july3 + 2, name: "Day after Independence Day", close: earlyClose });
    }
  }

  // Day after Thanksgiving: early close since 1992 (14:00 in 1992, 13:00 from 1993).
  if (year >= 1992) {
    result.push({
      day: nthWeekdayOfMonth(year, 11, THURSDAY, 4) + 1,
      name: "Day after Thanksgiving",
      close: earlyClose,
    });
  }

  // Christmas Eve, Mon-Thu. On a Friday it is the observed Christmas holiday; weekends don't trade.
  const christmasEve = dayNumber(year, 12, 24);
  const christmasEveWeekday = weekday(christmasEve);
  if (christmasEveWeekday >= MONDAY && christmasEveWeekday <= THURSDAY) {
    result.push({ day: christmasEve, name: "Christmas Eve", close: earlyClose });
  }

  const prefix = `${year}-`;
  for (const special of SPECIAL_EARLY_CLOSES) {
    if (special.date.startsWith(prefix)) {
      result.push({ day: dayOfIso(special.date), name: special.name, close: special.close });
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Per-year cache
// ---------------------------------------------------------------------------------------------

interface YearCalendar {
  year: number;
  /** Day number of Jan 1. */
  firstDay: number;
  /** Weekday full-day closures by day number. */
  closures: Map<number, string>;
  /** Early closes by day number. */
  earlyCloses: Map<number, { close: string; name: string }>;
  /** sessionsBefore[offset] = sessions in this year strictly before Jan 1 + offset (length days + 1). */
  sessionsBefore: Uint16Array;
  /** ISO dates of this year's sessions, ascending. */
  sessions: readonly string[];
  holidays: readonly Readonly<XnysHoliday>[];
  earlyCloseList: readonly Readonly<XnysEarlyClose>[];
}

const yearCache = new Map<number, YearCalendar>();

function yearCalendar(year: number): YearCalendar {
  const cached = yearCache.get(year);
  if (cached !== undefined) return cached;
  const built = buildYear(year);
  yearCache.set(year, built);
  return built;
}

function buildYear(year: number): YearCalendar {
  const firstDay = dayNumber(year, 1, 1);

  const closures = new Map<number, string>();
  for (const { day, name } of computeClosures(year)) {
    // Observed holidays are weekdays by construction; keep the first name if two ever coincide.
    if (!isWeekend(day) && !closures.has(day)) closures.set(day, name);
  }

  const earlyCloses = new Map<number, { close: string; name: string }>();
  for (const { day, name, close } of computeEarlyCloses(year)) {
    if (!isWeekend(day) && !closures.has(day)) earlyCloses.set(day, { close, name });
  }

  const dayCount = isLeapYear(year) ? 366 : 365;
  const sessionsBefore = new Uint16Array(dayCount + 1);
  const sessions: string[] = [];
  const holidays: XnysHoliday[] = [];
  const earlyCloseList: XnysEarlyClose[] = [];
  let offset = 0;
  for (let month = 1; month <= 12; month++) {
    const monthLength = daysInMonth(year, month);
    for (let dayOfMonth = 1; dayOfMonth <= monthLength; dayOfMonth++, offset++) {
      const day = firstDay + offset;
      sessionsBefore[offset + 1] = sessionsBefore[offset]!;
      if (isWeekend(day)) continue;
      const closureName = closures.get(day);
      if (closureName !== undefined) {
        holidays.push(Object.freeze({ date: formatIso(year, month, dayOfMonth), name: closureName }));
        continue;
      }
      const iso = formatIso(year, month, dayOfMonth);
      sessions.push(iso);
      sessionsBefore[offset + 1] = sessions.length;
      const early = earlyCloses.get(day);
      if (early !== undefined) earlyCloseList.push(Object.freeze({ date: iso, ...early }));
    }
  }

  return {
    year,
    firstDay,
    closures,
    earlyCloses,
    sessionsBefore,
    sessions,
    holidays,
    earlyCloseList,
  };
}

/**
 * The session at position `index` of `calendar.year`'s session list, where the index may run past
 * either end of the year (negative = earlier years, >= length = later years).
 */
function sessionAt(calendar: YearCalendar, index: number, describe: () => string): string {
  let current = calendar;
  let i = index;
  while (i < 0) {
    if (current.year <= XNYS_FIRST_YEAR) throw noSession(describe());
    current = yearCalendar(current.year - 1);
    i += current.sessions.length;
  }
  while (i >= current.sessions.length) {
    if (current.year >= XNYS_LAST_YEAR) throw noSession(describe());
    i -= current.sessions.length;
    current = yearCalendar(current.year + 1);
  }
  return current.sessions[i]!;
}

function noSession(what: string): RangeError {
  return new RangeError(
    `XNYS calendar: ${what} falls outside the supported range ${XNYS_FIRST_YEAR}-${XNYS_LAST_YEAR}`,
  );
}

/** Number of sessions in the year strictly before the located day. */
function sessionsBeforeDay({ calendar, offset }: Located): number {
  return calendar.sessionsBefore[offset]!;
}

/** Number of sessions in the year up to and including the located day. */
function sessionsThroughDay({ calendar, offset }: Located): number {
  return calendar.sessionsBefore[offset + 1]!;
}

function assertCount(value: number, min: number, what: string): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`XNYS calendar: ${what} must be an integer >= ${min}, got ${describeValue(value)}`);
  }
}

function assertYear(year: number): void {
  if (!Number.isInteger(year)) {
    throw new RangeError(`XNYS calendar: year must be an integer, got ${describeValue(year)}`);
  }
  assertSupportedYear(year, `year ${year}`);
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** True when `date` is a trading session: a weekday that is not a full-day closure. */
export function isSession(date: string): boolean {
  const located = locate(date);
  return sessionsThroughDay(located) !== sessionsBeforeDay(located);
}

/** Why the exchange is closed on `date` ("Weekend", "Good Friday", ...); undefined for sessions. */
export function closureReason(date: string): string | undefined {
  const { calendar, offset } = locate(date);
  const day = calendar.firstDay + offset;
  if (isWeekend(day)) return "Weekend";
  return calendar.closures.get(day);
}

/** Full-day weekday closures in `year` (regular holidays as observed and special closures), sorted. */
export function holidays(year: number): XnysHoliday[] {
  assertYear(year);
  return yearCalendar(year).holidays.map((holiday) => ({ ...holiday }));
}

/** Scheduled early closes in `year`, sorted. */
export function earlyCloses(year: number): XnysEarlyClose[] {
  assertYear(year);
  return yearCalendar(year).earlyCloseList.map((early) => ({ ...early }));
}

/** Local close time (`"16:00"`, `"13:00"`, ...) of the session on `date`; undefined if not a session. */
export function sessionCloseTime(date: string): string | undefined {
  const located = locate(date);
  if (sessionsThroughDay(located) === sessionsBeforeDay(located)) return undefined;
  const early = located.calendar.earlyCloses.get(located.calendar.firstDay + located.offset);
  return early === undefined ? REGULAR_CLOSE : early.close;
}

/** The n-th session strictly after `date` (n >= 1, default 1). */
export function nextSession(date: string, n = 1): string {
  assertCount(n, 1, "n");
  const located = locate(date);
  return sessionAt(located.calendar, sessionsThroughDay(located) + n - 1, () => `session ${n} after ${date}`);
}

/** The n-th session strictly before `date` (n >= 1, default 1). */
export function previousSession(date: string, n = 1): string {
  assertCount(n, 1, "n");
  const located = locate(date);
  return sessionAt(located.calendar, sessionsBeforeDay(located) - n, () => `session ${n} before ${date}`);
}

/** `date` itself if it is a session, otherwise the latest session before it. */
export function sessionOnOrBefore(date: string): string {
  const located = locate(date);
  return sessionAt(located.calendar, sessionsThroughDay(located) - 1, () => `session on or before ${date}`);
}

/** All sessions from `start` to `end`, both inclusive, ascending. Empty if start > end. */
export function sessionsBetween(start: string, end: string): string[] {
  const from = locate(start);
  const to = locate(end);
  const fromYear = from.calendar.year;
  const toYear = to.calendar.year;
  const firstIndex = sessionsBeforeDay(from);
  const endIndex = sessionsThroughDay(to); // exclusive
  if (fromYear > toYear) return [];
  if (fromYear === toYear) {
    return firstIndex < endIndex ? from.calendar.sessions.slice(firstIndex, endIndex) : [];
  }
  const middle: (readonly string[])[] = [];
  for (let year = fromYear + 1; year < toYear; year++) middle.push(yearCalendar(year).sessions);
  return from.calendar.sessions.slice(firstIndex).concat(...middle, to.calendar.sessions.slice(0, endIndex));
}

/** Number of sessions from `start` to `end`, both inclusive (0 if start > end). */
export function countSessions(start: string, end: string): number {
  const from = locate(start);
  const to = locate(end);
  const fromYear = from.calendar.year;
  const toYear = to.calendar.year;
  if (fromYear > toYear) return 0;
  // Sessions before `end` counted from the start of fromYear, minus those before `start`.
  let count = sessionsThroughDay(to) - sessionsBeforeDay(from);
  for (let year = fromYear; year < toYear; year++) count += yearCalendar(year).sessions.length;
  return Math.max(0, count);
}

/** The window of the `n` sessions (n >= 1) ending at sessionOnOrBefore(end). */
export function sessionsBack(end: string, n: number): XnysSessionRange {
  assertCount(n, 1, "n");
  const located = locate(end);
  const endIndex = sessionsThroughDay(located) - 1;
  const describe = () => `${n} sessions ending on or before ${end}`;
  return {
    start: sessionAt(located.calendar, endIndex - (n - 1), describe),
    end: sessionAt(located.calendar, endIndex, describe),
  };
}

/** n = 0: sessionOnOrBefore(date); n = 1: the session before that; and so on. */
export function tradingDaysAgo(date: string, n: number): string {
  assertCount(n, 0, "n");
  const located = locate(date);
  return sessionAt(
    located.calendar,
    sessionsThroughDay(located) - 1 - n,
    () => `${n} sessions before the session on or before ${date}`,
  );
}

/** UTC instant at which the session on `date` closes; undefined if `date` is not a session. */
export function sessionCloseInstant(date: string): Date | undefined {
  const close = sessionCloseTime(date);
  if (close === undefined) return undefined;
  const local = DateTime.fromObject(
    {
      year: digits(date, 0, 4),
      month: digits(date, 5, 7),
      day: digits(date, 8, 10),
      hour: digits(close, 0, 2),
      minute: digits(close, 3, 5),
    },
    { zone: XNYS_TIMEZONE },
  );
  return local.toJSDate();
}
