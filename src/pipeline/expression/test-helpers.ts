import { ExpressionError } from "./errors.js";
import { type EvalContext, evaluate } from "./evaluate.js";
import { parseExpression } from "./parser.js";

/** Parses and evaluates in one go. */
export function run(text: string, ctx: EvalContext = {}): unknown {
  return evaluate(parseExpression(text), ctx);
}

/** The ExpressionError `fn` throws; fails the test if it throws something else or nothing. */
export function expressionError(fn: () => unknown): ExpressionError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ExpressionError) return error;
    throw error;
  }
  throw new Error("expected an ExpressionError, nothing was thrown");
}

/** Where an error points, as the source text it covers. */
export function pointedText(text: string, error: ExpressionError): string {
  return text.slice(error.offset, error.offset + error.length);
}
