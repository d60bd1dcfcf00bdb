/** Durations as written in YAML: `500ms`, `30s`, `10m`, `2h`, `1d`, `1w`, or combined (`1h30m`); instants as typed. */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** The JSON Schema / zod pattern for a duration string. */
export const DURATION_PATTERN = "^(\\d+(ms|s|m|h|d|w))+$";
const DURATION_RE = new RegExp(DURATION_PATTERN);
const PART_RE = /(\d+)(ms|s|m|h|d|w)/g;

/** Milliseconds of a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_RE.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(PART_RE)) total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return total;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return m < 60 ? `${m}m${s}s` : `${Math.floor(m / 60)}h${m % 60}m`;
}

const INSTANT_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/**
 * An instant as a user writes one: ISO 8601 with its zone (`2026-03-06T12:00:00Z`, `...-05:00`) or
 * a date (its midnight UTC, as the CLI prints times in UTC). Undefined when it is neither.
 */
export function parseInstant(text: string): Date | undefined {
  const t = INSTANT_RE.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(t) ? undefined : new Date(t);
}

/** `--since`: a duration back from `now` (`2h`, `7d`, `1h30m`) or an instant (`parseInstant`). */
export function parseSince(text: string, now: Date): Date | undefined {
  const ms = parseDuration(text);
  return ms === undefined ? parseInstant(text) : new Date(now.getTime() - ms);
}
