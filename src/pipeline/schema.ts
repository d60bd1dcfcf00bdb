import { documentSchema, hoist, type JsonSchema, toJsonSchema } from "../config/json-schema.js";
import { EXPRESSION_DEF } from "../config/schema-check.js";
import {
  duration,
  EXPRESSION_PATTERN,
  parameterDeclaration,
  pipelineDocument,
  taskDocument,
} from "./document.js";
import type { StepSpec } from "./step-spec.js";

export const PIPELINE_SCHEMA_FILE = "pipeline.schema.json";

const expressionDef: JsonSchema = {
  type: "string",
  pattern: EXPRESSION_PATTERN,
  description:
    "An expression `${{ ... }}`, evaluated before the run (params, env, run) or during it (task outputs).",
};

export function stepDefName(step: StepSpec): string {
  return `with_${step.name.replaceAll(".", "_")}`;
}

/**
 * The pipeline schema, assembled from the step registry: `uses` is one of the step names and each
 * task's `with` is checked against that step's own parameters (an `if`/`then` per step, which
 * editors and ajv both follow, and which reports one branch's errors rather than all of them).
 */
export function pipelineJsonSchema(steps: readonly StepSpec[]): JsonSchema {
  const durationRef = "#/$defs/duration";
  const durationDef = toJsonSchema(duration);
  const defs: Record<string, JsonSchema> = {
    [EXPRESSION_DEF]: expressionDef,
    duration: durationDef,
    parameter: hoist(toJsonSchema(parameterDeclaration), durationDef, durationRef) as JsonSchema,
  };
  const task = hoist(toJsonSchema(taskDocument), durationDef, durationRef) as JsonSchema;
  const taskProps = task.properties as Record<string, JsonSchema>;
  taskProps.uses = {
    ...taskProps.uses,
    enum: steps.map((s) => s.name),
    description: `The step type this task runs: ${steps.map((s) => s.name).join(", ")}.`,
  };
  task.allOf = steps.map((step) => ({
    if: { properties: { uses: { const: step.name } }, required: ["uses"] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's `then`, not a thenable
    then: { properties: { with: { $ref: `#/$defs/${stepDefName(step)}` } } },
  }));
  defs.task = task;
  for (const step of steps) {
    const params = acceptExpressions(toJsonSchema(step.params)) as JsonSchema;
    defs[stepDefName(step)] = { ...params, description: `Parameters of ${step.name}: ${step.summary}` };
  }

  const body = toJsonSchema(pipelineDocument);
  const props = body.properties as Record<string, JsonSchema>;
  props.parameters = { ...props.parameters, additionalProperties: { $ref: "#/$defs/parameter" } };
  props.tasks = { ...props.tasks, additionalProperties: { $ref: "#/$defs/task" } };
  const hoisted = hoist(body, durationDef, durationRef) as JsonSchema;
  return documentSchema(PIPELINE_SCHEMA_FILE, "tickflow pipeline", hoisted, defs);
}

/**
 * Step parameters may be given as `${{ }}` expressions resolved later, so every constrained value
 * (numbers, booleans, lists, enums, patterned strings) also accepts a whole expression.
 * Free-form strings already accept one.
 */
function acceptExpressions(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...schema };
  if (out.properties) {
    out.properties = Object.fromEntries(
      Object.entries(out.properties as Record<string, JsonSchema>).map(([k, v]) => [k, acceptExpressions(v)]),
    );
  }
  if (out.items && typeof out.items === "object") out.items = acceptExpressions(out.items as JsonSchema);
  if (out.additionalProperties && typeof out.additionalProperties === "object") {
    out.additionalProperties = acceptExpressions(out.additionalProperties as JsonSchema);
  }
  if (out.type === "object" && out.properties) return out.description ? wrap(out) : out;
  const freeString = out.type === "string" && !out.pattern && !out.format && !out.enum && !out.const;
  if (freeString || Object.keys(out).every((k) => k === "description" || k === "default")) return out;
  return wrap(out);
}

function wrap(schema: JsonSchema): JsonSchema {
  const { description, default: def, ...rest } = schema;
  const wrapped: JsonSchema = { anyOf: [rest, { $ref: `#/$defs/${EXPRESSION_DEF}` }] };
  if (description !== undefined) wrapped.description = description;
  if (def !== undefined) wrapped.default = def;
  return wrapped;
}
