/**
 * A schedule in plain words, for the console's deployment page: "at 17:30 on Monday to Friday,
 * America/New_York, XNYS sessions only". Common cron shapes are spelled out; anything else keeps
 * its expression (`cron "0 9 L * *"`), which is still exact.
 */
import rrule from "rrule";
import type { ScheduleDocument } from "./deployments-file.js";
import { describeTrigger } from "./explain.js";

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAY_NAMES: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

/** The schedule's trigger in words, then its zone and calendar. */
export function describeSchedule(s: ScheduleDocument): string {
  const when =
    s.cron !== undefined
      ? describeCron(s.cron)
      : s.interval !== undefined
        ? `every ${s.interval}${s.anchor_date ? ` from ${s.anchor_date}` : ""}`
        : s.rrule !== undefined
          ? describeRrule(s.rrule)
          : undefined;
  return [
    when ?? describeTrigger(s),
    s.timezone ?? "UTC",
    ...(s.calendar ? [`${s.calendar} sessions only`] : []),
  ].join(", ");
}

/** A cron expression in words, or undefined when its shape is not one spelled out here. */
export function describeCron(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (fields.length === 6) {
    if (fields[0] !== "0") return undefined;
    fields.shift();
  }
  if (fields.length !== 5) return undefined;
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const time = timeOfDay(minute, hour);
  if (time === undefined) return undefined;
  const parts = [time];
  if (dom !== "*" && dom !== "?") {
    const days = list(dom, (n) => (n >= 1 && n <= 31 ? String(n) : undefined));
    if (days === undefined) return undefined;
    parts.push(`on day ${days} of the month`);
  }
  if (month !== "*") {
    const months = list(month, (n) => MONTHS[n - 1]);
    if (months === undefined) return undefined;
    parts.push(`in ${months}`);
  }
  if (dow !== "*" && dow !== "?") {
    const days = list(
      dow.toLowerCase().replace(/[a-z]{3}/g, (d) => String(DAY_NAMES[d] ?? d)),
      (n) => (n >= 0 && n <= 7 ? DAYS[n % 7] : undefined),
    );
    if (days === undefined) return undefined;
    parts.push(`on ${days}`);
  } else if (dom === "*" || dom === "?") {
    parts.push("every day");
  }
  return parts.join(" ");
}

/** "at 17:30", "every 15 minutes", "every hour at minute 5", "at 9:00 and 15:00". */
function timeOfDay(minute: string, hour: string): string | undefined {
  const num = (t: string, max: number) => (/^\d+$/.test(t) && Number(t) <= max ? Number(t) : undefined);
  const m = num(minute, 59);
  const pad = (n: number) => String(n).padStart(2, "0");
  const step = /^\*\/(\d+)$/.exec(minute);
  if (hour === "*") {
    if (minute === "*") return "every minute";
    if (step) return `every ${step[1]} minutes`;
    if (m !== undefined) return m === 0 ? "every hour" : `every hour at minute ${m}`;
    return undefined;
  }
  const hours = hour.split(",").map((h) => num(h, 23));
  if (m === undefined || hours.some((h) => h === undefined)) {
    const range = /^(\d+)-(\d+)$/.exec(hour);
    if (step && range)
      return `every ${step[1]} minutes from ${pad(Number(range[1]))}:00 to ${pad(Number(range[2]))}:59`;
    return undefined;
  }
  const times = (hours as number[]).map((h) => `${pad(h)}:${pad(m)}`);
  return `at ${joinWords(times)}`;
}

/** `1-5` -> "Monday to Friday", `1,3,5` -> "Monday, Wednesday and Friday"; undefined past the simple forms. */
function list(field: string, name: (n: number) => string | undefined): string | undefined {
  const words: string[] = [];
  for (const part of field.split(",")) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      const a = name(Number(range[1]));
      const b = name(Number(range[2]));
      if (a === undefined || b === undefined) return undefined;
      words.push(`${a} to ${b}`);
    } else if (/^\d+$/.test(part)) {
      const a = name(Number(part));
      if (a === undefined) return undefined;
      words.push(a);
    } else return undefined;
  }
  return joinWords(words);
}

function joinWords(words: string[]): string {
  return words.length <= 1 ? (words[0] ?? "") : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}

/** rrule.js's own words ("every week on Saturday at 9"), or undefined when it cannot say them. */
function describeRrule(text: string): string | undefined {
  try {
    const rule = rrule.rrulestr(text, { forceset: false });
    return rule instanceof rrule.RRule && rrule.RRule.prototype.isFullyConvertibleToText.call(rule)
      ? rule.toText()
      : undefined;
  } catch {
    return undefined;
  }
}
