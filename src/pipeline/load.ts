import type { Diagnostic } from "../config/diagnostics.js";
import { kindOf, type Loaded, readYamlFile, typedDocument } from "../config/document.js";
import { validatorFor } from "../config/validators.js";
import { diagnosticAt, type YamlFile } from "../config/yaml.js";
import { checkPipeline, checkWithDefaults } from "./check.js";
import { lenientPipeline, type PipelineDocument, pipelineDocument } from "./document.js";
import { pipelineJsonSchema } from "./schema.js";
import type { StepSpec } from "./step-spec.js";

/** Reads and checks a pipeline file: YAML, schema, then the semantic checks. `doc` is set only when error-free. */
export async function loadPipeline(
  file: string,
  steps: readonly StepSpec[],
  options: CheckOptions = {},
): Promise<Loaded<PipelineDocument>> {
  const read = await readYamlFile(file);
  if (!read.yaml) return { diagnostics: read.diagnostics };
  const yaml = read.yaml;
  const kind = kindOf(yaml);
  if (typeof kind !== "string") return { yaml, doc: undefined, diagnostics: [...read.diagnostics, kind] };
  if (kind !== "pipeline") {
    return {
      yaml,
      doc: undefined,
      diagnostics: [
        ...read.diagnostics,
        diagnosticAt(yaml, ["kind"], `expected a pipeline, this file is kind: ${kind}`),
      ],
    };
  }
  return checkPipelineFile(yaml, steps, read.diagnostics, options);
}

export interface CheckOptions {
  /**
   * Check expression values against the step schemas with the parameters' defaults (default true).
   * `plan` and `run` turn it off: they check the same with the run's own parameters.
   */
  withDefaults?: boolean;
}

export async function checkPipelineFile(
  yaml: YamlFile,
  steps: readonly StepSpec[],
  earlier: Diagnostic[] = [],
  options: CheckOptions = {},
): Promise<Loaded<PipelineDocument>> {
  const tooMany = taskCountProblem(yaml);
  if (tooMany) return { yaml, doc: undefined, diagnostics: [...earlier, tooMany] };
  const names = steps.map((s) => s.name).join(",");
  const validate = await validatorFor("pipeline", () => pipelineJsonSchema(steps), names);
  const typed = typedDocument(yaml, validate, pipelineDocument);
  const diagnostics = [...earlier, ...typed.diagnostics];
  const stepMap = new Map(steps.map((s) => [s.name, s]));
  // With schema errors, the semantic checks still run over the well-formed parts.
  const checkable = typed.doc ?? lenientPipeline(yaml.value);
  if (checkable) diagnostics.push(...checkPipeline(yaml, checkable, stepMap));
  if (options.withDefaults !== false && typed.doc && !diagnostics.some((d) => d.severity === "error")) {
    diagnostics.push(...checkWithDefaults(yaml, typed.doc, stepMap));
  }
  const ok = !diagnostics.some((d) => d.severity === "error");
  return { yaml, doc: ok ? typed.doc : undefined, diagnostics };
}

/** Tasks in one pipeline: ample for any real one; the checks and the plan stay fast up to it. */
export const MAX_TASKS = 5_000;

/** A pipeline past the task limit is refused before any check, at the first task too many. */
function taskCountProblem(yaml: YamlFile): Diagnostic | undefined {
  const tasks = (yaml.value as { tasks?: unknown } | null)?.tasks;
  if (!tasks || typeof tasks !== "object") return undefined;
  const ids = Object.keys(tasks);
  if (ids.length <= MAX_TASKS) return undefined;
  return diagnosticAt(
    yaml,
    ["tasks", ids[MAX_TASKS]!],
    `too many tasks (more than ${MAX_TASKS} in one pipeline)`,
    {
      target: "key",
    },
  );
}
