import { assertXnysDate, isValidIsoDate, xnysDate } from "../calendar/index.js";
import { maskerOf } from "../config/masker.js";
import { diagnosticAt } from "../config/yaml.js";
import { parameterIssueDiagnostics } from "../pipeline/check.js";
import type { PipelineDocument } from "../pipeline/document.js";
import { loadPipeline } from "../pipeline/load.js";
import { resolveParameters } from "../pipeline/parameters.js";
import { checkPlannedParameters, type Plan, PlanError, planPipeline } from "../pipeline/plan.js";
import { builtinSteps } from "../steps/index.js";
import { printDiagnostics, ReportedFailure, requireFile, UsageError } from "./output.js";

export interface PlanOptions {
  param: string[];
  format: "text" | "json" | "mermaid";
  date?: string;
}

/** `--param k=v` pairs; the value may contain `=`. */
export function parseParamFlags(flags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    if (eq <= 0) throw new UsageError(`--param expects NAME=VALUE, got "${flag}"`);
    out[flag.slice(0, eq).trim()] = flag.slice(eq + 1);
  }
  return out;
}

/** The run's logical date: `--date`, or today in the exchange's time zone. */
export function runDateOf(flag: string | undefined): string {
  return flag === undefined ? xnysDate() : dateFlag("--date", flag);
}

/** A date option: `YYYY-MM-DD` within the calendar's years (1990-2100), else a usage error. */
export function dateFlag(flag: string, value: string): string {
  if (!isValidIsoDate(value)) throw new UsageError(`${flag} expects YYYY-MM-DD, got "${value}"`);
  try {
    assertXnysDate(value);
  } catch (err) {
    // The caller's to fix, in the calendar's words; not an internal error later in a step.
    throw new UsageError(`${flag}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return value;
}

export interface ResolvedPlan {
  plan: Plan;
  doc: PipelineDocument;
}

/** Loads, checks and resolves a pipeline; every problem is printed and ends in a ReportedFailure or UsageError. */
export async function resolvePlan(
  file: string,
  options: Pick<PlanOptions, "param" | "date">,
): Promise<ResolvedPlan> {
  const raw = parseParamFlags(options.param);
  const runDate = runDateOf(options.date);
  requireFile(file);
  const loaded = await loadPipeline(file, builtinSteps, { withDefaults: false });
  const failed = loaded.diagnostics.some((d) => d.severity === "error");
  if (failed || !loaded.doc || !loaded.yaml) {
    printDiagnostics(loaded.diagnostics, "text", process.stderr);
    throw new ReportedFailure();
  }
  const warnings = loaded.diagnostics;
  if (warnings.length) printDiagnostics(warnings, "text", process.stderr);
  const { doc, yaml } = loaded;
  const params = resolveParameters(doc.parameters ?? {}, {}, raw);
  if (params.problems.length) {
    throw new UsageError(params.problems.map((p) => `--param ${p.name}: ${p.message}`).join("\n"));
  }
  const env = process.env;
  let plan: Plan;
  try {
    plan = planPipeline(doc, params.values, runDate, env);
  } catch (err) {
    if (!(err instanceof PlanError)) throw err;
    const at =
      doc.tasks[err.task]?.for_each !== undefined ? ["tasks", err.task, "for_each"] : ["tasks", err.task];
    // for_each is evaluated here, before any run: its errors may quote a value (from_json's do).
    printDiagnostics([diagnosticAt(yaml, at, maskerOf(env).mask(err.message))], "text", process.stderr);
    throw new ReportedFailure();
  }
  const steps = new Map(builtinSteps.map((s) => [s.name, s]));
  const issues = checkPlannedParameters(doc, plan, steps, env);
  if (issues.length) {
    printDiagnostics(parameterIssueDiagnostics(yaml, issues), "text", process.stderr);
    throw new ReportedFailure();
  }
  return { plan, doc };
}

export async function planCommand(file: string, options: PlanOptions): Promise<number> {
  const { plan } = await resolvePlan(file, options);
  process.stdout.write(renderPlan(plan, options.format));
  return 0;
}

export function renderPlan(plan: Plan, format: PlanOptions["format"]): string {
  if (format === "json") {
    const tasks = plan.tasks.map((t) => ({ id: t.id, uses: t.uses, needs: t.needs }));
    return `${JSON.stringify({ pipeline: plan.pipeline, run_date: plan.runDate, params: plan.params, tasks }, null, 2)}\n`;
  }
  if (format === "mermaid") {
    const node = new Map(plan.tasks.map((t, i) => [t.id, `t${i}`]));
    const lines = ["flowchart TD"];
    for (const t of plan.tasks)
      lines.push(`  ${node.get(t.id)}["${escapeMermaid(t.id)}<br/><small>${t.uses}</small>"]`);
    for (const t of plan.tasks) for (const n of t.needs) lines.push(`  ${node.get(n)} --> ${node.get(t.id)}`);
    return `${lines.join("\n")}\n`;
  }
  const width = Math.min(40, Math.max(...plan.tasks.map((t) => t.id.length), 4));
  const usesWidth = Math.max(...plan.tasks.map((t) => t.uses.length), 4);
  const params = Object.entries(plan.params)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(" ");
  const lines = [`pipeline ${plan.pipeline}  run date ${plan.runDate}${params ? `  ${params}` : ""}`];
  plan.tasks.forEach((t, i) => {
    const extra = [
      t.needs.length ? `needs ${t.needs.join(", ")}` : "",
      t.if !== undefined ? `if ${String(t.if)}` : "",
    ]
      .filter(Boolean)
      .join("  ");
    lines.push(
      `${String(i + 1).padStart(4)}  ${t.id.padEnd(width)}  ${t.uses.padEnd(usesWidth)}  ${extra}`.trimEnd(),
    );
  });
  lines.push(`${plan.tasks.length} task instance${plan.tasks.length === 1 ? "" : "s"}`);
  return `${lines.join("\n")}\n`;
}

function escapeMermaid(text: string): string {
  return text.replaceAll('"', "#quot;").replaceAll("<", "#lt;").replaceAll(">", "#gt;");
}
