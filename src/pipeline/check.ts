import { isScalar } from "yaml";
import { xnysDate } from "../calendar/index.js";
import type { Diagnostic } from "../config/diagnostics.js";
import { isSecretVariable } from "../config/masker.js";
import { findLiteralSecrets, isSecretKey, literalSecretMessage } from "../config/secrets.js";
import { closest, hints } from "../config/suggest.js";
import { diagnosticAt, nodeAt, type YamlFile } from "../config/yaml.js";
import { needsOf, type PipelineDocument, type TaskDocument } from "./document.js";
import {
  type Expr,
  ExpressionError,
  FUNCTIONS,
  functionCalls,
  parseExpression,
  parseTemplate,
  references,
} from "./expression/index.js";
import { findCycles, taskGraph, upstreamOf } from "./graph.js";
import { checkDefaults, resolveParameters } from "./parameters.js";
import { checkPlannedParameters, type ParameterIssue, type Plan, PlanError, planPipeline } from "./plan.js";
import type { StepSpec } from "./step-spec.js";

/** Names an expression may start with. */
export const EXPRESSION_ROOTS = ["params", "env", "tasks", "run", "item"] as const;
/** Fields of `run` known to expressions. */
export const RUN_FIELDS = ["id", "date", "pipeline", "deployment"] as const;
/** Dependency cycles reported in one file. */
const MAX_CYCLES = 20;
/** What a task exposes to expressions downstream. */
const TASK_FIELDS = ["outputs", "state"] as const;

type Path = (string | number)[];

/** Where an expression sits: the YAML path of its string and the expression's offset within the source. */
interface FoundExpression {
  expr: Expr;
  path: Path;
  /** Offset of the expression text in the file, for positions of its parts. */
  base: number;
  /** Which field it is in: `if` allows the status functions, `for_each` must be known before the run. */
  field: "with" | "if" | "for_each" | "cache";
}

/** Every check of a pipeline beyond its JSON Schema. */
export function checkPipeline(
  yaml: YamlFile,
  doc: PipelineDocument,
  steps: ReadonlyMap<string, StepSpec>,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const params = doc.parameters ?? {};
  const graph = taskGraph(doc);
  const hint = { task: hints(graph.ids), param: hints(Object.keys(params)) };

  for (const p of checkDefaults(params)) {
    out.push(
      diagnosticAt(yaml, ["parameters", p.name, "default"], `default of parameter "${p.name}" ${p.message}`),
    );
  }

  // needs: known ids, no self-reference
  for (const [id, task] of Object.entries(doc.tasks)) {
    const list = needsOf(task);
    list.forEach((need, i) => {
      const path = typeof task.needs === "string" ? ["tasks", id, "needs"] : ["tasks", id, "needs", i];
      if (need === id) out.push(diagnosticAt(yaml, path, `task "${id}" needs itself`));
      else if (!doc.tasks[need]) {
        const like = hint.task(need);
        out.push(
          diagnosticAt(
            yaml,
            path,
            `unknown task "${need}" in needs of "${id}"${like ? ` (did you mean "${like}"?)` : ""}`,
          ),
        );
      }
    });
  }

  // Past a few, more cycles are noise, and each costs its length in the output.
  const cycles = findCycles(graph, MAX_CYCLES + 1);
  for (const cycle of cycles.slice(0, MAX_CYCLES)) {
    out.push(
      diagnosticAt(
        yaml,
        ["tasks", cycle[0]!, "needs"],
        `dependency cycle: ${[...cycle, cycle[0]].join(" -> ")}`,
      ),
    );
  }
  if (cycles.length > MAX_CYCLES) {
    out.push(
      diagnosticAt(yaml, ["tasks"], `more dependency cycles (the first ${MAX_CYCLES} are shown)`, {
        target: "key",
      }),
    );
  }
  const upstream = upstreamOf(graph);

  for (const [id, task] of Object.entries(doc.tasks)) {
    const step = steps.get(task.uses);
    for (const found of collectExpressions(yaml, id, task, out)) {
      checkExpression(yaml, doc, id, task, found, { steps, upstream, hint }, out);
    }
    if (step) out.push(...checkSecretsOfStep(yaml, id, task, step));
    if (task.concurrency && !doc.concurrency_limits?.[task.concurrency]) {
      out.push(
        diagnosticAt(
          yaml,
          ["tasks", id, "concurrency"],
          `concurrency limit "${task.concurrency}" is not declared in concurrency_limits; it will allow 1 task at a time`,
          { severity: "warning" },
        ),
      );
    }
  }
  for (const s of findLiteralSecrets(doc.parameters ?? {}, ["parameters"])) {
    out.push(diagnosticAt(yaml, s.path, literalSecretMessage(s.key)));
  }
  return out;
}

function checkSecretsOfStep(yaml: YamlFile, id: string, task: TaskDocument, step: StepSpec): Diagnostic[] {
  const secretParams = new Set(step.secrets ?? []);
  return findLiteralSecrets(
    task.with ?? {},
    ["tasks", id, "with"],
    (p) => p.length === 4 && secretParams.has(String(p[3])),
  ).map((s) => diagnosticAt(yaml, s.path, literalSecretMessage(s.key)));
}

/** Parses every expression of a task; syntax errors are reported here with their position. */
function collectExpressions(
  yaml: YamlFile,
  id: string,
  task: TaskDocument,
  out: Diagnostic[],
): FoundExpression[] {
  const found: FoundExpression[] = [];
  const fromString = (value: string, path: Path, field: FoundExpression["field"], bare: boolean) => {
    const node = nodeAt(yaml, path);
    const start = node?.range?.[0] ?? yaml.locate(path).offset;
    const end = node?.range?.[1] ?? start;
    const raw = yaml.text.slice(start, end);
    // Offset of the string's first character in the file: past an opening quote, exact for one-line scalars.
    const quoted = isScalar(node) && (node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE");
    const valueStart = start + (quoted ? 1 : 0);
    // Exact for one-line scalars without escapes; otherwise found by searching the raw text.
    const exact = raw.slice(quoted ? 1 : 0).startsWith(value);
    const fileOffset = (stringOffset: number, source: string): number => {
      if (exact) return valueStart + stringOffset;
      const idx = source ? raw.indexOf(source) : -1;
      return idx >= 0 ? start + idx : valueStart;
    };
    try {
      if (bare && !value.includes("${{")) {
        found.push({ expr: parseExpression(value), path, base: fileOffset(0, value), field });
        return;
      }
      const template = parseTemplate(value);
      for (const part of template?.parts ?? []) {
        if (part.kind === "expr")
          found.push({ expr: part.expr, path, base: fileOffset(part.offset, part.source), field });
      }
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      const shift = fileOffset(err.offset, "") - yaml.locate(path).offset;
      out.push(
        diagnosticAt(yaml, path, `invalid expression: ${err.message}`, { offsetShift: Math.max(0, shift) }),
      );
    }
  };
  const walk = (value: unknown, path: Path) => {
    if (typeof value === "string") fromString(value, path, "with", false);
    else if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, [...path, i]);
    } else if (value && typeof value === "object")
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
  };
  const base: Path = ["tasks", id];
  walk(task.with ?? {}, [...base, "with"]);
  if (typeof task.if === "string") fromString(task.if, [...base, "if"], "if", true);
  if (typeof task.for_each === "string") fromString(task.for_each, [...base, "for_each"], "for_each", false);
  if (task.cache) fromString(task.cache.key, [...base, "cache", "key"], "cache", false);
  return found;
}

function checkExpression(
  yaml: YamlFile,
  doc: PipelineDocument,
  id: string,
  task: TaskDocument,
  found: FoundExpression,
  known: {
    steps: ReadonlyMap<string, StepSpec>;
    upstream: (task: string, other: string) => boolean;
    hint: Record<"task" | "param", (word: string) => string | undefined>;
  },
  out: Diagnostic[],
): void {
  const { steps, upstream, hint } = known;
  const at = (offset: number, message: string, severity: "error" | "warning" = "error") => {
    const shift = found.base + offset - yaml.locate(found.path).offset;
    out.push(diagnosticAt(yaml, found.path, message, { offsetShift: Math.max(0, shift), severity }));
  };
  const functionNames = Object.keys(FUNCTIONS);
  for (const call of functionCalls(found.expr)) {
    const fn = FUNCTIONS[call.name];
    if (!fn) {
      const hint = closest(call.name, functionNames);
      at(call.start, `unknown function "${call.name}"${hint ? ` (did you mean "${hint}"?)` : ""}`);
    } else if (call.argc < fn.minArgs || call.argc > fn.maxArgs) {
      const want = fn.minArgs === fn.maxArgs ? `${fn.minArgs}` : `${fn.minArgs} to ${fn.maxArgs}`;
      at(call.start, `${call.name}() takes ${want} argument${fn.maxArgs === 1 ? "" : "s"}, got ${call.argc}`);
    } else if (fn.status && found.field !== "if") {
      at(call.start, `${call.name}() is only meaningful in \`if\``);
    }
  }
  const params = doc.parameters ?? {};
  for (const ref of references(found.expr)) {
    const [first, second, third] = ref.path;
    switch (ref.root) {
      case "params":
        if (first === undefined) break;
        if (!params[String(first)]) {
          const like = hint.param(String(first));
          at(
            ref.start,
            `unknown parameter "params.${first}"${like ? ` (did you mean "params.${like}"?)` : ""}`,
          );
        }
        break;
      case "env":
        if (isSecretVariable(String(first ?? "")) && !secretAllowed(found, steps.get(task.uses)))
          at(
            ref.start,
            `secret env.${first} used outside a secret parameter: the step gets it in clear, logs and outputs show *** instead`,
            "warning",
          );
        break;
      case "run":
        if (first !== undefined && !(RUN_FIELDS as readonly string[]).includes(String(first))) {
          at(
            ref.start,
            `unknown field "run.${first}" (known: ${RUN_FIELDS.map((f) => `run.${f}`).join(", ")})`,
          );
        }
        break;
      case "item":
        if (task.for_each === undefined) at(ref.start, `"item" is only defined in a task with for_each`);
        break;
      case "tasks": {
        if (first === undefined) break;
        const other = String(first);
        if (found.field === "for_each") {
          at(
            ref.start,
            `for_each must be known before the run: it cannot use the outputs of task "${other}"`,
          );
          break;
        }
        const otherTask = doc.tasks[other];
        if (!otherTask) {
          const like = hint.task(other);
          at(ref.start, `unknown task "tasks.${other}"${like ? ` (did you mean "tasks.${like}"?)` : ""}`);
          break;
        }
        if (!upstream(id, other)) {
          at(ref.start, `task "${other}" is not upstream of "${id}": add it to needs to use its outputs`);
          break;
        }
        if (second !== undefined && !(TASK_FIELDS as readonly string[]).includes(String(second))) {
          at(
            ref.start,
            `unknown field "tasks.${other}.${second}" (use tasks.${other}.outputs.NAME or tasks.${other}.state)`,
          );
          break;
        }
        const outputs = steps.get(otherTask.uses)?.outputs;
        if (second === "outputs" && third !== undefined && outputs && !outputs[String(third)]) {
          const names = Object.keys(outputs);
          at(
            ref.start,
            `step ${otherTask.uses} has no output "${third}" (outputs: ${names.join(", ") || "none"})`,
          );
        }
        break;
      }
      default: {
        const hint = closest(ref.root, [...EXPRESSION_ROOTS]);
        at(
          ref.start,
          `unknown name "${ref.root}"${hint ? ` (did you mean "${hint}"?)` : ""}: expressions start with ${EXPRESSION_ROOTS.join(", ")}`,
        );
      }
    }
  }
}

/** Whether a secret may be used here: in `if`, or as a secret parameter (the step declares it, or its name says so). */
function secretAllowed(found: FoundExpression, step: StepSpec | undefined): boolean {
  if (found.field === "if") return true;
  const param = found.path[3];
  if (found.field !== "with" || param === undefined) return false;
  const declared = found.path.length === 4 && (step?.secrets ?? []).includes(String(param));
  return declared || isSecretKey(String(found.path.at(-1)));
}

/** Step-schema problems of the resolved `with` values, as diagnostics at the task's `with`. */
export function parameterIssueDiagnostics(yaml: YamlFile, issues: readonly ParameterIssue[]): Diagnostic[] {
  return issues.map((i) =>
    diagnosticAt(
      yaml,
      ["tasks", i.task, "with", ...i.path],
      `${i.path.length ? `with.${i.path.join(".")}` : "with"}: ${i.message}`,
    ),
  );
}

/**
 * What only the step's zod schema knows (ranges, rules across fields such as start vs days_back)
 * checked on the values expressions take with the parameters' defaults and today's date. Values
 * written literally were checked by the JSON Schema already; only expression values are reported.
 */
export function checkWithDefaults(
  yaml: YamlFile,
  doc: PipelineDocument,
  steps: ReadonlyMap<string, StepSpec>,
): Diagnostic[] {
  const params = resolveParameters(doc.parameters ?? {});
  if (params.problems.length) return []; // required parameters: known only at run time
  let plan: Plan;
  try {
    plan = planPipeline(doc, params.values, xnysDate());
  } catch (err) {
    if (!(err instanceof PlanError)) throw err;
    const at =
      doc.tasks[err.task]?.for_each !== undefined ? ["tasks", err.task, "for_each"] : ["tasks", err.task];
    return [diagnosticAt(yaml, at, err.message)];
  }
  const issues = checkPlannedParameters(doc, plan, steps).filter((i) => {
    if (i.path.length === 0) return true;
    const written = doc.tasks[i.task]?.with?.[String(i.path[0])];
    return JSON.stringify(written ?? "").includes("${{");
  });
  return parameterIssueDiagnostics(yaml, issues);
}
