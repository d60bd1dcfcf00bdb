import type { TaskDocument } from "./document.js";
import {
  type EvalContext,
  type Expr,
  evaluate,
  parseExpression,
  parseTemplate,
  references,
  renderTemplate,
} from "./expression/index.js";

/** A value computed from the run's context. */
export type Renderer = (ctx: EvalContext) => unknown;

/** A task's templates parsed once, then evaluated for each of its instances. */
export interface CompiledTask {
  /** `with` as a tree of renderers: plain values stay as they are, expressions are evaluated. */
  with: Renderer;
  /** `if`; without one, `success()`. */
  if: Renderer;
  /** `cache.key`, for a task with `cache`. */
  cacheKey?: Renderer;
  /** Tasks its expressions name (`tasks.X...`): only these are put into its context. */
  referencedTasks: string[];
}

/**
 * Parses a task's templates: `with`, `if` and `cache.key`.
 * @throws ExpressionError for a template that does not parse (a checked pipeline has none).
 */
export function compileTask(task: TaskDocument): CompiledTask {
  const referenced = new Set<string>();
  const note = (expr: Expr) => {
    for (const r of references(expr))
      if (r.root === "tasks" && r.path[0] !== undefined) referenced.add(String(r.path[0]));
  };
  const compileValue = (value: unknown): Renderer => {
    if (typeof value === "string") {
      const template = parseTemplate(value);
      if (!template) return () => value;
      for (const p of template.parts) if (p.kind === "expr") note(p.expr);
      return (ctx) => renderTemplate(template, ctx);
    }
    if (Array.isArray(value)) {
      const items = value.map(compileValue);
      return (ctx) => items.map((f) => f(ctx));
    }
    if (value && typeof value === "object") {
      const entries = Object.entries(value).map(([k, v]) => [k, compileValue(v)] as const);
      return (ctx) => Object.fromEntries(entries.map(([k, f]) => [k, f(ctx)]));
    }
    return () => value;
  };
  const compileIf = (condition: TaskDocument["if"]): Renderer => {
    if (condition === undefined) return (ctx) => ctx.status?.success ?? true;
    if (typeof condition === "boolean") return () => condition;
    if (condition.includes("${{")) return compileValue(condition);
    // `if` may also be written without `${{ }}`, as in GitHub Actions.
    const expr = parseExpression(condition);
    note(expr);
    return (ctx) => evaluate(expr, ctx);
  };
  const compiled: CompiledTask = {
    with: compileValue(task.with ?? {}),
    if: compileIf(task.if),
    referencedTasks: [],
  };
  if (task.cache) compiled.cacheKey = compileValue(task.cache.key);
  compiled.referencedTasks = [...referenced];
  return compiled;
}
