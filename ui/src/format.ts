import type { RunStateName } from "../../src/api/console-contract";

export const FINAL_RUN_STATES: ReadonlySet<string> = new Set<RunStateName>([
  "Completed",
  "Failed",
  "Cancelled",
  "Crashed",
]);

export const RUN_STATES: RunStateName[] = [
  "Scheduled",
  "Late",
  "Pending",
  "Running",
  "Cancelling",
  "Completed",
  "Failed",
  "Cancelled",
  "Crashed",
];

export function isFinal(state: string): boolean {
  return FINAL_RUN_STATES.has(state);
}

/** The CSS custom property that colours a state (the same colour everywhere). */
export function stateVar(state: string): string {
  return `var(--st-${state.toLowerCase()}, var(--st-pending))`;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Local wall-clock time, `YYYY-MM-DD HH:MM:SS`. */
export function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function utcTitle(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : `${d
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z")} UTC`;
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function span(start: string | null, end: string | null, now = Date.now()): string {
  if (!start) return "";
  return duration((end ? Date.parse(end) : now) - Date.parse(start));
}

/** Relative to now: "in 3 h", "5 min ago". */
export function relative(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso) - now;
  const text = duration(Math.abs(ms));
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

export function shortId(id: string): string {
  return id.length > 13 ? id.slice(0, 13) : id;
}

/** JSON as readable text (for parameters and outputs). */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? "null";
  } catch {
    return String(value);
  }
}

export function todayIso(): string {
  const d = new Date();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
