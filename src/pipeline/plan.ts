import { tradingDaysAgo } from "../calendar/index.js";
import { maskedEnv } from "../config/masker.js";
import { needsOf, type PipelineDocument, type TaskDocument } from "./document.js";
import {
  type EvalContext,
  ExpressionError,
  FUNCTIONS,
  functionCalls,
  parseTemplate,
  references,
  renderTemplate,
} from "./expression/index.js";
import { taskGraph, topologicalOrder } from "./graph.js";
import type { StepSpec } from "./step-spec.js";

/** One task instance of the resolved graph: a task, or one item of its `for_each`. */
export interface PlannedTask {
  /** Instance id: the task id, or `task[item]` for a `for_each` instance. */
  id: string;
  /** The task id in the pipeline file. */
  task: string;
  uses: string;
  /** Instance ids this one waits for. */
  needs: string[];
  /** The `for_each` item of this instance. */
  item?: unknown;
  /** Kept for run time: evaluated when the instance's needs have ended. */
  if?: string | boolean;
}

export interface Plan {
  pipeline: string;
  params: Record<string, unknown>;
  runDate: string;
  /** Instances in topological order (ties kept in file order). */
  tasks: PlannedTask[];
}

export class PlanError extends Error {
  constructor(
    /** Task id the problem belongs to. */
    readonly task: string,
    message: string,
  ) {
    super(message);
  }
}

/** The context known before a run: parameters, environment, run fields, calendar. */
export function planContext(
  params: Record<string, unknown>,
  runDate: string,
  env: Record<string, string | undefined>,
): EvalContext {
  return {
    params,
    env,
    wholeEnv: maskedEnv(env),
    run: { date: runDate },
    today: runDate,
    tradingDaysAgo: (n: number) => tradingDaysAgo(runDate, n),
  };
}

/** Task instances of one plan: a for_each over every symbol of an exchange fits; a runaway list does not. */
export const MAX_INSTANCES = 50_000;
/** `needs` between instances: a for_each needing all instances of another multiplies the two. */
export const MAX_LINKS = 1_000_000;

/**
 * Resolves a checked pipeline into its instance graph: `for_each` fanned out, `needs` rewired
 * (an instance needs the instance with the same item when both tasks iterate over the same items,
 * otherwise every instance of the task it needs), in topological order.
 */
export function planPipeline(
  doc: PipelineDocument,
  params: Record<string, unknown>,
  runDate: string,
  env: Record<string, string | undefined> = {},
): Plan {
  const ctx = planContext(params, runDate, env);
  const instances = new Map<string, { keys: string[]; items: unknown[] } | undefined>();
  let count = 0;
  for (const [id, task] of Object.entries(doc.tasks)) {
    const fanned = fanOut(id, task, ctx);
    instances.set(id, fanned);
    count += fanned ? fanned.keys.length : 1;
    if (count > MAX_INSTANCES)
      throw new PlanError(
        id,
        `the plan has more than ${MAX_INSTANCES} task instances (for_each fans out too far)`,
      );
  }

  const tasks: PlannedTask[] = [];
  let links = 0;
  for (const id of taskOrder(doc)) {
    const task = doc.tasks[id]!;
    const mine = instances.get(id);
    // Per needed task, once: whether each instance needs only its namesake (same items).
    const needs = needsOf(task).map((need) => {
      const theirs = instances.get(need);
      return { need, theirs, paired: !!(mine && theirs && sameKeys(mine.keys, theirs.keys)) };
    });
    const make = (instanceId: string, key: string | undefined, item?: unknown): PlannedTask => {
      const needIds: string[] = [];
      for (const { need, theirs, paired } of needs) {
        if (!theirs) needIds.push(need);
        else if (key !== undefined && paired) needIds.push(`${need}[${key}]`);
        else {
          // Every instance of a for_each needing every instance of another multiplies: bound it.
          links += theirs.keys.length;
          if (links > MAX_LINKS)
            throw new PlanError(
              id,
              `the plan has more than ${MAX_LINKS} needs between task instances (for_each tasks that need all of each other's instances)`,
            );
          for (const k of theirs.keys) needIds.push(`${need}[${k}]`);
        }
      }
      const planned: PlannedTask = { id: instanceId, task: id, uses: task.uses, needs: needIds };
      if (key !== undefined) planned.item = item;
      if (task.if !== undefined) planned.if = task.if;
      return planned;
    };
    if (!mine) tasks.push(make(id, undefined));
    else {
      for (const [i, key] of mine.keys.entries()) tasks.push(make(`${id}[${key}]`, key, mine.items[i]));
    }
  }
  return { pipeline: doc.name, params, runDate, tasks };
}

function sameKeys(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/** The items of a `for_each` and their instance keys, or undefined for a plain task. */
function fanOut(
  id: string,
  task: TaskDocument,
  ctx: EvalContext,
): { keys: string[]; items: unknown[] } | undefined {
  if (task.for_each === undefined) return undefined;
  let items: unknown = task.for_each;
  if (typeof items === "string") {
    try {
      const template = parseTemplate(items);
      items = template ? renderTemplate(template, ctx) : items;
    } catch (err) {
      if (err instanceof ExpressionError) throw new PlanError(id, `for_each: ${err.message}`);
      throw err;
    }
  }
  if (!Array.isArray(items))
    throw new PlanError(id, `for_each must give a list, got ${JSON.stringify(items)}`);
  const keys = items.map((item, i) =>
    typeof item === "string" || typeof item === "number" || typeof item === "boolean"
      ? String(item)
      : String(i),
  );
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k))
      throw new PlanError(id, `for_each has the item "${k}" twice: instance ids must be unique`);
    seen.add(k);
  }
  return { keys, items };
}

/** Task ids in topological order; among ready tasks, the one written first goes first. */
export function taskOrder(doc: PipelineDocument): string[] {
  const graph = taskGraph(doc);
  const order = topologicalOrder(graph);
  if (order.length !== graph.ids.length) {
    const placed = new Set(order);
    throw new PlanError(graph.ids.find((_, i) => !placed.has(i))!, "dependency cycle");
  }
  return order.map((i) => graph.ids[i]!);
}

/**
 * A task's `with` with every expression that can be known before the run evaluated. Keys whose
 * value needs run-time data (outputs of other tasks) are left out and listed in `deferred`.
 */
export function resolveKnownWith(
  withValue: Record<string, unknown> | undefined,
  ctx: EvalContext,
): { value: Record<string, unknown>; deferred: string[] } {
  const value: Record<string, unknown> = {};
  const deferred: string[] = [];
  for (const [key, v] of Object.entries(withValue ?? {})) {
    const resolved = resolveKnown(v, ctx);
    if (resolved.known) value[key] = resolved.value;
    else deferred.push(key);
  }
  return { value, deferred };
}

// `env` is left for run time: the daemon's environment, not this shell's, is what the run will see.
const PLAN_TIME_ROOTS = new Set(["params", "run", "item"]);

function resolveKnown(v: unknown, ctx: EvalContext): { known: boolean; value?: unknown } {
  if (typeof v === "string") {
    const template = parseTemplate(v);
    if (!template) return { known: true, value: v };
    for (const part of template.parts) {
      if (part.kind !== "expr") continue;
      if (references(part.expr).some((r) => !PLAN_TIME_ROOTS.has(r.root))) return { known: false };
      if (functionCalls(part.expr).some((c) => FUNCTIONS[c.name]?.status)) return { known: false };
    }
    return { known: true, value: renderTemplate(template, ctx) };
  }
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const x of v) {
      const r = resolveKnown(x, ctx);
      if (!r.known) return { known: false };
      out.push(r.value);
    }
    return { known: true, value: out };
  }
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = resolveKnown(x, ctx);
      if (!r.known) return { known: false };
      out[k] = r.value;
    }
    return { known: true, value: out };
  }
  return { known: true, value: v };
}

export interface ParameterIssue {
  instance: string;
  task: string;
  /** Path inside `with`. */
  path: (string | number)[];
  message: string;
}

/** Checks each instance's known `with` against its step's zod schema (types, ranges, refinements). */
export function checkPlannedParameters(
  doc: PipelineDocument,
  plan: Plan,
  steps: ReadonlyMap<string, StepSpec>,
  env: Record<string, string | undefined> = {},
): ParameterIssue[] {
  const issues: ParameterIssue[] = [];
  const base = planContext(plan.params, plan.runDate, env);
  for (const instance of plan.tasks) {
    const step = steps.get(instance.uses);
    if (!step) continue;
    let resolved: ReturnType<typeof resolveKnownWith>;
    try {
      resolved = resolveKnownWith(doc.tasks[instance.task]!.with, { ...base, item: instance.item });
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      issues.push({ instance: instance.id, task: instance.task, path: [], message: err.message });
      continue;
    }
    const result = step.params.safeParse(resolved.value);
    if (result.success) continue;
    for (const issue of result.error.issues) {
      const path = issue.path as (string | number)[];
      // A value known only at run time may be what a missing key or a cross-field rule is about.
      if (resolved.deferred.length && (path.length === 0 || resolved.deferred.includes(String(path[0]))))
        continue;
      issues.push({ instance: instance.id, task: instance.task, path, message: issue.message });
    }
  }
  return issues;
}
