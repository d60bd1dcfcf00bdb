import type { Expr } from "./ast.js";
import { ExpressionError, shiftError } from "./errors.js";
import { type EvalContext, evaluate } from "./evaluate.js";
import { parseExpression } from "./parser.js";
import { toText } from "./values.js";

const OPEN = "${{";
const CLOSE = "}}";

export interface TextPart {
  kind: "text";
  text: string;
}

export interface ExprPart {
  kind: "expr";
  expr: Expr;
  /** The expression text between `${{` and `}}`. */
  source: string;
  /** Offset of `source` (just after `${{`) in the template string. */
  offset: number;
}

export type TemplatePart = TextPart | ExprPart;

export interface Template {
  parts: TemplatePart[];
  /** true when the whole string (trimmed) is exactly one ${{ }}: it then renders to a typed value. */
  whole: boolean;
}

/** Whether a string holds an expression at all. */
export function isExpressionString(str: string): boolean {
  return str.includes(OPEN);
}

/**
 * Splits a YAML string into text and `${{ }}` expressions; undefined when it has none.
 * Errors (an unterminated `${{`, a bad expression) have offsets into `str`.
 */
export function parseTemplate(str: string): Template | undefined {
  if (!isExpressionString(str)) return undefined;
  const parts: TemplatePart[] = [];
  let pos = 0;
  for (let open = str.indexOf(OPEN); open >= 0; open = str.indexOf(OPEN, pos)) {
    if (open > pos) parts.push({ kind: "text", text: str.slice(pos, open) });
    const offset = open + OPEN.length;
    const close = findClose(str, offset);
    if (close < 0) throw new ExpressionError(`unterminated '${OPEN}': missing '${CLOSE}'`, open, OPEN.length);
    const source = str.slice(offset, close);
    const expr = atOffset(offset, () => parseExpression(source));
    parts.push({ kind: "expr", expr, source, offset });
    pos = close + CLOSE.length;
  }
  if (pos < str.length) parts.push({ kind: "text", text: str.slice(pos) });
  const expressions = parts.filter((part) => part.kind === "expr").length;
  const whole = expressions === 1 && parts.every((part) => part.kind === "expr" || part.text.trim() === "");
  return { parts, whole };
}

/**
 * A whole template gives the expression's typed value (a list stays a list); otherwise a string
 * with each value as text (null as '', lists and objects as JSON). Errors have offsets into the
 * template string.
 */
export function renderTemplate(tpl: Template, ctx: EvalContext): unknown {
  const expressions = tpl.parts.filter((part) => part.kind === "expr");
  const [single] = expressions;
  if (tpl.whole && single && expressions.length === 1)
    return atOffset(single.offset, () => evaluate(single.expr, ctx));
  let out = "";
  for (const part of tpl.parts) {
    if (part.kind === "text") out += part.text;
    else out += atOffset(part.offset, () => toText(evaluate(part.expr, ctx), part.expr));
  }
  return out;
}

/** Runs `fn`, moving the offsets of its ExpressionErrors from the expression text to the template. */
function atOffset<T>(offset: number, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw error instanceof ExpressionError ? shiftError(error, offset) : error;
  }
}

/**
 * Index of the `}}` closing an expression that starts at `from`, or -1. Quoted strings are
 * skipped so `format('{{x}}')` works; if a quote is never closed, the first `}}` is taken and
 * the parser reports the unterminated string, which is the more helpful error.
 */
function findClose(str: string, from: number): number {
  let pos = from;
  while (pos < str.length) {
    const ch = str[pos]!;
    if (ch === "}" && str[pos + 1] === "}") return pos;
    if (ch === "'" || ch === '"') {
      const end = skipString(str, pos);
      if (end < 0) return str.indexOf(CLOSE, from);
      pos = end;
    } else {
      pos++;
    }
  }
  return -1;
}

/** Offset just past the string literal starting at `start`, or -1 when it is not closed. */
function skipString(str: string, start: number): number {
  const quote = str[start];
  let pos = start + 1;
  while (pos < str.length) {
    const ch = str[pos];
    if (ch === "\\" && quote === '"') pos += 2;
    else if (ch === quote && quote === "'" && str[pos + 1] === "'") pos += 2;
    else if (ch === quote) return pos + 1;
    else pos++;
  }
  return -1;
}
