import type { ValidateFunction } from "ajv";
import { type Loaded, kindOf, readYamlFile, typedDocument } from "../config/document.js";
import { compileSchema } from "../config/schema-check.js";
import type { Diagnostic } from "../config/diagnostics.js";
import { diagnosticAt, type YamlFile } from "../config/yaml.js";
import { checkPipeline } from "./check.js";
import { type PipelineDocument, pipelineDocument } from "./document.js";
import { pipelineJsonSchema } from "./schema.js";
import type { StepSpec } from "./step-spec.js";

const compiled = new WeakMap<readonly StepSpec[], ValidateFunction>();

function validatorFor(steps: readonly StepSpec[]): ValidateFunction {
  let v = compiled.get(steps);
  if (!v) {
    v = compileSchema(pipelineJsonSchema(steps));
    compiled.set(steps, v);
  }
  return v;
}

/** Reads and checks a pipeline file: YAML, schema, then the semantic checks. `doc` is set only when error-free. */
export async function loadPipeline(file: string, steps: readonly StepSpec[]): Promise<Loaded<PipelineDocument>> {
  const read = await readYamlFile(file);
  if (!read.yaml) return { diagnostics: read.diagnostics };
  const yaml = read.yaml;
  const kind = kindOf(yaml);
  if (typeof kind !== "string") return { yaml, doc: undefined, diagnostics: [...read.diagnostics, kind] };
  if (kind !== "pipeline") {
    return { yaml, doc: undefined, diagnostics: [...read.diagnostics, diagnosticAt(yaml, ["kind"], `expected a pipeline, this file is kind: ${kind}`)] };
  }
  return checkPipelineFile(yaml, steps, read.diagnostics);
}

export function checkPipelineFile(yaml: YamlFile, steps: readonly StepSpec[], earlier: Diagnostic[] = []): Loaded<PipelineDocument> {
  const typed = typedDocument(yaml, validatorFor(steps), pipelineDocument);
  const diagnostics = [...earlier, ...typed.diagnostics];
  if (!typed.doc) return { yaml, doc: undefined, diagnostics };
  const stepMap = new Map(steps.map((s) => [s.name, s]));
  diagnostics.push(...checkPipeline(yaml, typed.doc, stepMap));
  const ok = !diagnostics.some((d) => d.severity === "error");
  return { yaml, doc: ok ? typed.doc : undefined, diagnostics };
}
