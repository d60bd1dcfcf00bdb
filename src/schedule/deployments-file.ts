import { z } from "zod";
import { documentSchema, hoist, type JsonSchema, toJsonSchema } from "../config/json-schema.js";
import { wellFormedFields } from "../config/lenient.js";
import { notifyShape } from "../notify/channels-file.js";
import { duration, NAME_PATTERN } from "../pipeline/document.js";

export const DEPLOYMENTS_SCHEMA_FILE = "deployments.schema.json";

/** Exchange calendars a schedule can follow. */
export const CALENDARS = ["XNYS"] as const;

const parameterValues = z
  .record(
    z.string(),
    z.unknown().describe("A parameter value, converted and checked against the pipeline's declaration."),
  )
  .describe("Parameters passed to the pipeline (override its defaults).");

export const scheduleDocument = z
  .strictObject({
    cron: z
      .string()
      .optional()
      .describe(
        'A cron expression (5 fields, or 6 with seconds), e.g. "30 17 * * 1-5"; local time in `timezone`.',
      ),
    interval: duration
      .optional()
      .describe(
        "Fire every interval, e.g. 1h, on a grid from `anchor_date`; whole days keep the local time across DST.",
      ),
    anchor_date: z.iso
      .datetime({ offset: true })
      .optional()
      .describe(
        "Start of the intervals, an ISO date-time with offset (default: 2000-01-01T00:00:00 in `timezone`).",
      ),
    rrule: z.string().optional().describe('An iCalendar RRULE, e.g. "FREQ=WEEKLY;BYDAY=SA;BYHOUR=9".'),
    timezone: z
      .string()
      .optional()
      .describe("IANA time zone of the schedule's wall-clock times, e.g. America/New_York (default UTC)."),
    calendar: z
      .enum(CALENDARS)
      .optional()
      .describe("Fire only on this exchange's trading sessions (XNYS: NYSE)."),
    active: z.boolean().optional().describe("An inactive schedule creates no runs (default true)."),
    parameters: parameterValues.optional(),
  })
  .describe("When to run: exactly one of `cron`, `interval` or `rrule`.");
export type ScheduleDocument = z.output<typeof scheduleDocument>;

export const MISSED_RUNS = ["all", "latest", "skip"] as const;

export const deploymentDocument = z
  .strictObject({
    name: z.string().regex(new RegExp(NAME_PATTERN)).describe("Deployment name, unique in the file."),
    description: z.string().optional().describe("What the deployment is for."),
    pipeline: z.string().min(1).describe("Path of the pipeline file, relative to this file."),
    parameters: parameterValues.optional(),
    schedules: z
      .array(scheduleDocument)
      .optional()
      .describe("When runs are created; none: runs start on demand only."),
    work_pool: z
      .strictObject({
        name: z
          .string()
          .regex(new RegExp(NAME_PATTERN))
          .describe("Name of a work pool listed in `work_pools`."),
        queue: z
          .string()
          .regex(new RegExp(NAME_PATTERN))
          .optional()
          .describe("Queue of the pool (default: `default`)."),
      })
      .optional()
      .describe("Where runs execute (default: the pool named `default`)."),
    concurrency_limit: z
      .strictObject({
        limit: z.int().min(1).describe("Most runs of this deployment in flight at once."),
        collision_strategy: z
          .enum(["enqueue", "cancel_new"])
          .optional()
          .describe("When the limit is reached: enqueue the new run (default) or cancel it."),
      })
      .optional()
      .describe("A limit on this deployment's own runs."),
    missed_runs: z
      .enum(MISSED_RUNS)
      .optional()
      .describe("Runs missed while the daemon was down: run all, only the latest (default), or skip them."),
    timeout: duration.optional().describe("Longest a run may take (overrides the pool's job_defaults)."),
    tags: z.array(z.string().describe("A tag.")).optional().describe("Labels for filtering runs."),
    paused: z.boolean().optional().describe("A paused deployment creates no scheduled runs (default false)."),
  })
  .describe("A deployment: a pipeline with parameters, schedules and where it runs.");
export type DeploymentDocument = z.output<typeof deploymentDocument>;

export const deploymentsDocument = z
  .strictObject({
    kind: z.literal("deployments").describe("Marks this file as a set of deployments."),
    work_pools: z
      .array(z.string().describe("A path or glob, relative to this file."))
      .optional()
      .describe("Work pool files (paths or globs relative to this file)."),
    deployments: z.array(deploymentDocument).describe("The deployments."),
    ...notifyShape,
  })
  .describe("tickflow deployments: which pipelines run when, and where.");
export type DeploymentsDocument = z.output<typeof deploymentsDocument>;

export function deploymentsJsonSchema(): JsonSchema {
  const durationDef = toJsonSchema(duration);
  const defs: Record<string, JsonSchema> = {
    duration: durationDef,
    schedule: hoist(toJsonSchema(scheduleDocument), durationDef, "#/$defs/duration") as JsonSchema,
  };
  const deployment = hoist(toJsonSchema(deploymentDocument), durationDef, "#/$defs/duration") as JsonSchema;
  const props = deployment.properties as Record<string, JsonSchema>;
  props.schedules = { ...props.schedules, items: { $ref: "#/$defs/schedule" } };
  defs.deployment = deployment;
  const body = toJsonSchema(deploymentsDocument);
  const bodyProps = body.properties as Record<string, JsonSchema>;
  bodyProps.deployments = { ...bodyProps.deployments, items: { $ref: "#/$defs/deployment" } };
  return documentSchema(DEPLOYMENTS_SCHEMA_FILE, "tickflow deployments", body, defs);
}

/** The well-formed parts of a deployments file that failed its schema, so the other checks still run. */
export function lenientDeployments(value: unknown): DeploymentsDocument | undefined {
  if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
  const raw = value as Record<string, unknown>;
  if (!Array.isArray(raw.deployments)) return undefined;
  const deployments = raw.deployments.map((d) => {
    const kept = wellFormedFields(d, deploymentDocument.shape);
    const schedules = (d as { schedules?: unknown })?.schedules;
    if (Array.isArray(schedules)) {
      kept.schedules = schedules.map((s) => wellFormedFields(s, scheduleDocument.shape) as ScheduleDocument);
    }
    return { name: "", pipeline: "", ...kept } as DeploymentDocument;
  });
  const pools = deploymentsDocument.shape.work_pools.safeParse(raw.work_pools);
  // Notification parts: the well-formed channels and rules, so their own checks still run.
  const channels: Record<string, unknown> = {};
  if (raw.channels && typeof raw.channels === "object" && !Array.isArray(raw.channels))
    for (const [name, ch] of Object.entries(raw.channels))
      if (notifyShape.channels.unwrap().valueType.safeParse(ch).success) channels[name] = ch;
  const wellFormed = <T>(list: unknown, item: z.ZodType<T>): T[] | undefined =>
    Array.isArray(list) ? list.filter((x) => item.safeParse(x).success) : undefined;
  const notifications = wellFormed(raw.notifications, notifyShape.notifications.unwrap().element);
  const freshness = wellFormed(raw.freshness, notifyShape.freshness.unwrap().element);
  return {
    kind: "deployments",
    deployments,
    ...(pools.success && pools.data ? { work_pools: pools.data } : {}),
    ...(Object.keys(channels).length ? { channels: channels as DeploymentsDocument["channels"] } : {}),
    ...(notifications ? { notifications } : {}),
    ...(freshness ? { freshness } : {}),
  };
}
