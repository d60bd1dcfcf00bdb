import { parseDuration } from "../config/duration.js";
import type { TaskDocument } from "../pipeline/document.js";

/**
 * Milliseconds to wait before retry number `retry` (1 = the first retry). A list gives the delays
 * in turn, its last repeating; exponential backoff doubles from `base` up to `max`, spread by
 * `jitter` (0.2 = ±20%) so that many failing tasks do not retry in lockstep.
 */
export function retryDelayMs(
  spec: TaskDocument["retry_delay"],
  retry: number,
  random: () => number = Math.random,
): number {
  if (spec === undefined) return 0;
  if (typeof spec === "string") return parseDuration(spec) ?? 0;
  if (Array.isArray(spec)) return parseDuration(spec[Math.min(retry, spec.length) - 1]!) ?? 0;
  const base = parseDuration(spec.base) ?? 0;
  const max = spec.max ? (parseDuration(spec.max) ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY;
  const delay = Math.min(max, base * 2 ** (retry - 1));
  const jitter = spec.jitter ?? 0;
  return Math.max(0, Math.round(delay * (1 + jitter * (2 * random() - 1))));
}
