import { z } from "zod";
import type { Diagnostic } from "../config/diagnostics.js";
import { documentSchema, type JsonSchema, toJsonSchema } from "../config/json-schema.js";
import { diagnosticAt, type YamlFile } from "../config/yaml.js";
import { duration, NAME_PATTERN } from "../pipeline/document.js";

export const WORK_POOL_SCHEMA_FILE = "work-pool.schema.json";

const name = z.string().regex(new RegExp(NAME_PATTERN));

export const workPoolDocument = z
  .strictObject({
    kind: z.literal("work_pool").describe("Marks this file as a work pool."),
    name: name.describe("Pool name, referenced by deployments' `work_pool.name`."),
    description: z.string().optional().describe("What the pool is for."),
    concurrency_limit: z
      .int()
      .min(1)
      .optional()
      .describe("Most runs of this pool in flight at once (default: no limit)."),
    paused: z
      .boolean()
      .optional()
      .describe("A paused pool starts no runs; scheduled ones wait (default false)."),
    queues: z
      .array(
        z
          .strictObject({
            name: name.describe("Queue name, referenced by deployments' `work_pool.queue`."),
            priority: z.int().min(1).optional().describe("Lower numbers are served first (default 10)."),
            concurrency_limit: z
              .int()
              .min(1)
              .optional()
              .describe("Most runs of this queue in flight at once."),
            description: z.string().optional().describe("What the queue is for."),
          })
          .describe("A queue of the pool."),
      )
      .optional()
      .describe("Queues of the pool; a pool without queues has one named `default`."),
    job_defaults: z
      .strictObject({
        timeout: duration.optional().describe("Longest a run may take."),
        env: z
          .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().describe("The variable's value."))
          .optional()
          .describe(
            "Environment variables set for runs of this pool (no secrets: those come from the service's env).",
          ),
      })
      .optional()
      .describe("Defaults applied to every run of the pool."),
  })
  .describe("A tickflow work pool: how many runs may execute at once, and in which queues.");
export type WorkPoolDocument = z.output<typeof workPoolDocument>;

export function workPoolJsonSchema(): JsonSchema {
  return documentSchema(WORK_POOL_SCHEMA_FILE, "tickflow work pool", toJsonSchema(workPoolDocument), {});
}

/** The queues a pool really has: a pool without `queues` has one named `default`. */
export function queueNames(pool: WorkPoolDocument): string[] {
  return pool.queues?.length ? pool.queues.map((q) => q.name) : ["default"];
}

/** Checks beyond the schema: unique queue names. */
export function checkWorkPool(yaml: YamlFile, pool: WorkPoolDocument): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  pool.queues?.forEach((q, i) => {
    if (seen.has(q.name)) {
      out.push(diagnosticAt(yaml, ["queues", i, "name"], `duplicate queue name "${q.name}"`));
    }
    seen.add(q.name);
  });
  return out;
}
