import type { BinaryExpr, Expr, IndexExpr, NameExpr, UnaryExpr } from "./ast.js";
import { errorAt } from "./errors.js";
import { callFunction } from "./functions.js";
import { deepEqual, describeType, isTruthy } from "./values.js";

export interface EvalContext {
  params?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  /**
   * What `env` reads as a whole value (`to_json(env)`): the caller's copy with secrets masked.
   * `env.NAME` and `env['NAME']` read `env` itself, so a secret parameter still gets its key.
   */
  wholeEnv?: Record<string, string | undefined>;
  tasks?: Record<string, { outputs: Record<string, unknown>; state?: string }>;
  /** run.id, run.date (YYYY-MM-DD), run.pipeline, ... */
  run?: Record<string, unknown>;
  /** The current `for_each` item. */
  item?: unknown;
  /** For success()/failure()/cancelled(). */
  status?: { success: boolean; failure: boolean; cancelled: boolean };
  /** YYYY-MM-DD used by today(); defaults to run.date. */
  today?: string;
  /** Provided by the caller (exchange calendar); trading_days_ago(n) calls it. */
  tradingDaysAgo?: (n: number) => string;
}

/** The names an expression can start from. */
export const ROOT_NAMES = ["params", "env", "tasks", "run", "item"] as const;

/**
 * Evaluates a parsed expression. Missing properties read as null; errors (unknown names or
 * functions, wrong types) are ExpressionErrors at the offending node, in expression-text offsets.
 */
export function evaluate(expr: Expr, ctx: EvalContext): unknown {
  switch (expr.kind) {
    case "literal":
      return expr.value;
    case "list":
      return expr.items.map((item) => evaluate(item, ctx));
    case "name":
      return rootValue(expr, ctx);
    case "member":
      return property(objectOf(expr.object, ctx), expr.property);
    case "index":
      return index(expr, ctx);
    case "call":
      return callFunction(
        expr,
        expr.args.map((arg) => evaluate(arg, ctx)),
        ctx,
      );
    case "unary":
      return unary(expr, ctx);
    case "binary":
      return binary(expr, ctx);
  }
}

/** What a member or index access reads from: `env` itself for `env.X`, else the value. */
function objectOf(expr: Expr, ctx: EvalContext): unknown {
  return expr.kind === "name" && expr.name === "env" ? (ctx.env ?? null) : evaluate(expr, ctx);
}

function rootValue(expr: NameExpr, ctx: EvalContext): unknown {
  switch (expr.name) {
    case "env":
      return ctx.wholeEnv ?? ctx.env ?? null;
    case "params":
    case "tasks":
    case "run":
    case "item":
      return ctx[expr.name] ?? null;
    default:
      throw errorAt(`unknown name '${expr.name}'; expressions start with ${ROOT_NAMES.join(", ")}`, expr);
  }
}

/** An own property of a plain object, else null: never a prototype member, never a TypeError. */
function property(target: unknown, key: string): unknown {
  if (target === null || typeof target !== "object" || Array.isArray(target)) return null;
  return Object.hasOwn(target, key) ? ((target as Record<string, unknown>)[key] ?? null) : null;
}

function index(expr: IndexExpr, ctx: EvalContext): unknown {
  const target = objectOf(expr.object, ctx);
  const key = evaluate(expr.index, ctx);
  if (typeof key === "string") return property(target, key);
  if (typeof key === "number" && Array.isArray(target) && Number.isInteger(key) && key >= 0) {
    return target[key] ?? null;
  }
  return null;
}

function unary(expr: UnaryExpr, ctx: EvalContext): unknown {
  const value = evaluate(expr.operand, ctx);
  if (expr.op === "!") return !isTruthy(value);
  if (typeof value !== "number") throw errorAt(`cannot negate ${describeType(value)}`, expr);
  return -value;
}

function binary(expr: BinaryExpr, ctx: EvalContext): unknown {
  const left = evaluate(expr.left, ctx);
  // && and || short-circuit and return an operand, like JavaScript.
  if (expr.op === "&&") return isTruthy(left) ? evaluate(expr.right, ctx) : left;
  if (expr.op === "||") return isTruthy(left) ? left : evaluate(expr.right, ctx);
  const right = evaluate(expr.right, ctx);
  switch (expr.op) {
    case "==":
      return deepEqual(left, right, expr);
    case "!=":
      return !deepEqual(left, right, expr);
  }
  // Ordering only between two numbers or two strings (ISO dates order correctly as strings).
  const comparable =
    (typeof left === "number" && typeof right === "number") ||
    (typeof left === "string" && typeof right === "string");
  if (!comparable) {
    throw errorAt(
      `cannot compare ${describeType(left)} with ${describeType(right)} using '${expr.op}'`,
      expr,
    );
  }
  const [a, b] = [left as number | string, right as number | string];
  switch (expr.op) {
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
  }
}
