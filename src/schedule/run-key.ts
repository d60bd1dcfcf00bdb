import { createHash } from "node:crypto";
import type { ScheduleDocument } from "./deployments-file.js";

/**
 * Identity of scheduled runs.
 *
 * A schedule's id comes from its content, not its position in the list: reordering the schedules
 * (or inserting one) must not change the keys of the runs already created, or a redeploy would
 * create them twice. The content is what decides which runs it makes and with what: the trigger
 * (`cron`, `interval` + `anchor_date`, `rrule`), `timezone` (absent = UTC), `calendar` and the
 * schedule's `parameters`. `active` is left out (switching a schedule off and on keeps its runs).
 * Changing any of the rest makes a new schedule: its runs get new keys, and the scheduler removes
 * the not-yet-started runs of ids no longer deployed (as Prefect does on redeploy).
 * Two identical schedules share an id, so they make one run per time, not two.
 */
export function scheduleId(schedule: ScheduleDocument): string {
  const canonical = {
    cron: schedule.cron?.trim().split(/\s+/).join(" "),
    interval: schedule.interval,
    anchor_date:
      schedule.anchor_date === undefined ? undefined : new Date(schedule.anchor_date).toISOString(),
    rrule: schedule.rrule?.trim(),
    timezone: schedule.timezone ?? "UTC",
    calendar: schedule.calendar,
    parameters: schedule.parameters,
  };
  return `s-${createHash("sha256").update(stableJson(canonical)).digest("hex").slice(0, 16)}`;
}

/** JSON with object keys sorted at every level and undefined members left out. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
}

/** RFC 4122 namespace of tickflow's scheduled runs (a fixed random UUID). */
const NAMESPACE = "6f1c2b0e-5a57-4a8e-9f3e-2d4c7b1e8a90";

/** A name-based (version 5, SHA-1) UUID: the same name always gives the same UUID. */
export function uuidV5(name: string, namespace = NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ""), "hex");
  const bytes = createHash("sha1").update(ns).update(name, "utf8").digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The key of the run a schedule creates at an instant: a UUID from (deployment name, schedule id,
 * instant in UTC milliseconds), the same on every scheduler pass and every redeploy. Pass the
 * schedule (its id is derived) or an id from `scheduleId`.
 */
export function scheduledRunKey(deployment: string, schedule: ScheduleDocument | string, at: Date): string {
  const id = typeof schedule === "string" ? schedule : scheduleId(schedule);
  return uuidV5(`scheduled\n${deployment}\n${id}\n${at.toISOString()}`);
}
