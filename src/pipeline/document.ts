import { z } from "zod";
import { DURATION_PATTERN } from "../config/duration.js";
import { wellFormedFields } from "../config/lenient.js";

/** Names of pipelines, work pools, deployments. */
export const NAME_PATTERN = "^[a-z0-9][a-z0-9_-]*$";
/** Task ids and parameter names: usable in expressions (`tasks.fetch_bars.outputs`). */
export const ID_PATTERN = "^[A-Za-z_][A-Za-z0-9_-]*$";
/** A value that is one whole `${{ ... }}` expression. */
export const EXPRESSION_PATTERN = "^\\s*\\$\\{\\{[\\s\\S]*\\}\\}\\s*$";

export const duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN))
  .describe("A duration: a number and a unit (ms, s, m, h, d, w), e.g. 500ms, 30s, 10m, 2h, 1d.");

const expression = z
  .string()
  .regex(new RegExp(EXPRESSION_PATTERN))
  .describe("An expression `${{ ... }}` evaluated before or during the run.");

export const PARAMETER_TYPES = ["string", "integer", "number", "boolean", "date", "array", "object"] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

const itemDeclaration = z
  .strictObject({
    type: z.enum(["string", "integer", "number", "boolean", "date"]).describe("Type of each item."),
    enum: z.array(z.unknown().describe("An allowed value.")).optional().describe("The allowed item values."),
    pattern: z.string().optional().describe("A regular expression each string item must match."),
  })
  .describe("The declaration of a list's items.");

export const parameterDeclaration = z
  .strictObject({
    type: z
      .enum(PARAMETER_TYPES)
      .describe("The parameter's type; `--param` values are converted to it and checked (date: YYYY-MM-DD)."),
    description: z.string().optional().describe("What the parameter means (shown by `tickflow plan`)."),
    default: z
      .unknown()
      .optional()
      .describe(
        "Value used when the run does not set the parameter; without a default the parameter is required.",
      ),
    enum: z.array(z.unknown().describe("An allowed value.")).optional().describe("The allowed values."),
    minimum: z.number().optional().describe("Smallest allowed number."),
    maximum: z.number().optional().describe("Largest allowed number."),
    pattern: z.string().optional().describe("A regular expression a string value must match."),
    minItems: z.int().min(0).optional().describe("Fewest items a list may have."),
    maxItems: z.int().min(0).optional().describe("Most items a list may have."),
    items: itemDeclaration.optional(),
  })
  .describe("A parameter declaration, JSON-Schema-like: type, default, constraints.");
export type ParameterDeclaration = z.output<typeof parameterDeclaration>;

const taskId = z.string().regex(new RegExp(ID_PATTERN)).describe("The id of a task in this pipeline.");

export const retryDelay = z
  .union([
    duration,
    z.array(duration).min(1).describe("Delays before each retry in turn; the last repeats."),
    z
      .strictObject({
        backoff: z.literal("exponential").describe("Delay doubles after each attempt."),
        base: duration.describe("Delay before the first retry."),
        max: duration.optional().describe("Upper bound of the delay."),
        jitter: z
          .number()
          .min(0)
          .max(1)
          .optional()
          .describe("Random spread as a fraction of the delay (0.2 = ±20%)."),
      })
      .describe("Exponential backoff with optional jitter."),
  ])
  .describe("Wait between attempts: one duration, a list, or exponential backoff.");

export const taskDocument = z
  .strictObject({
    uses: z.string().describe("The step type this task runs (see `tickflow steps`)."),
    description: z.string().optional().describe("What the task is for."),
    with: z
      // No description on the values: editors show the first one they find, and the step's own
      // parameter descriptions (from the per-step branch) must win on hover.
      .record(z.string(), z.unknown())
      .optional()
      .describe("The step's parameters, checked against its schema."),
    needs: z
      .union([taskId, z.array(taskId).describe("Ids of the tasks this one waits for.")])
      .optional()
      .describe("Tasks that must finish before this one starts."),
    if: z
      .union([z.string(), z.boolean()])
      .optional()
      .describe(
        "Run only when this expression is true; default `${{ success() }}` (every needed task succeeded).",
      ),
    for_each: z
      .union([
        z.array(z.unknown().describe("One item; visible as `${{ item }}`.")).describe("The items."),
        expression,
      ])
      .optional()
      .describe("Run one instance per item (ids like `fetch[AAPL]`); a list or an expression giving one."),
    retries: z
      .int()
      .min(0)
      .max(100)
      .optional()
      .describe("How many times a failed attempt is retried (default 0)."),
    retry_delay: retryDelay.optional(),
    timeout: duration.optional().describe("Longest an attempt may run before it is cancelled and fails."),
    cache: z
      .strictObject({
        key: z.string().describe("An expression whose value identifies equal work (e.g. `${{ run.date }}`)."),
        expire: duration.optional().describe("How long a cached result stays valid (default: forever)."),
      })
      .optional()
      .describe("Reuse the outputs of a completed instance with the same key instead of running again."),
    concurrency: z
      .string()
      .optional()
      .describe("Name of a concurrency limit shared by tasks (see `concurrency_limits`)."),
    continue_on_error: z.boolean().optional().describe("When true, this task failing does not fail the run."),
  })
  .describe("A task: one step with its parameters and how it runs.");
export type TaskDocument = z.output<typeof taskDocument>;

export const pipelineDocument = z
  .strictObject({
    kind: z.literal("pipeline").describe("Marks this file as a pipeline."),
    name: z
      .string()
      .regex(new RegExp(NAME_PATTERN))
      .describe("Pipeline name: lower case letters, digits, `_` and `-`."),
    description: z.string().optional().describe("What the pipeline does."),
    parameters: z
      .record(z.string().regex(new RegExp(ID_PATTERN)), parameterDeclaration)
      .optional()
      .describe("Run parameters, visible as `${{ params.NAME }}` and set with `--param NAME=VALUE`."),
    max_parallel: z
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .describe("Most tasks of one run in flight at once (default 8)."),
    timeout: duration.optional().describe("Longest the whole run may take."),
    concurrency_limits: z
      .record(z.string().regex(new RegExp(ID_PATTERN)), z.int().min(1).describe("Slots of this limit."))
      .optional()
      .describe("Named limits that tasks share through `concurrency:`."),
    tasks: z
      .record(z.string().regex(new RegExp(ID_PATTERN)), taskDocument)
      .describe("The tasks, by id. Ids may be used in `needs` and `${{ tasks.ID.outputs.NAME }}`."),
  })
  .describe("A tickflow pipeline: parameters and a graph of tasks.");
export type PipelineDocument = z.output<typeof pipelineDocument>;

/** `needs` may be written as one id or a list. */
export function needsOf(task: TaskDocument): string[] {
  if (task.needs === undefined) return [];
  return typeof task.needs === "string" ? [task.needs] : task.needs;
}

/**
 * The parts of a pipeline that are well-formed, from a value that failed its schema: the semantic
 * checks can then run too, so one pass reports every error (a cycle beside an unknown key).
 */
export function lenientPipeline(value: unknown): PipelineDocument | undefined {
  if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
  const raw = value as Record<string, unknown>;
  const tasksRaw = raw.tasks;
  if (!tasksRaw || typeof tasksRaw !== "object" || Array.isArray(tasksRaw)) return undefined;
  const tasks: Record<string, TaskDocument> = {};
  for (const [id, t] of Object.entries(tasksRaw)) {
    if (!t || typeof t !== "object" || Array.isArray(t)) continue;
    const task = wellFormedFields(t, taskDocument.shape);
    tasks[id] = { uses: typeof task.uses === "string" ? task.uses : "", ...task } as TaskDocument;
  }
  const parameters: Record<string, ParameterDeclaration> = {};
  if (raw.parameters && typeof raw.parameters === "object") {
    for (const [k, d] of Object.entries(raw.parameters)) {
      const parsed = parameterDeclaration.safeParse(d);
      if (parsed.success) parameters[k] = parsed.data;
    }
  }
  const limits = pipelineDocument.shape.concurrency_limits.safeParse(raw.concurrency_limits);
  return {
    kind: "pipeline",
    name: typeof raw.name === "string" ? raw.name : "",
    parameters,
    tasks,
    ...(limits.success && limits.data ? { concurrency_limits: limits.data } : {}),
  };
}
