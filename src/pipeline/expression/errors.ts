/**
 * A problem in an expression. `offset`/`length` locate it in the string that was passed to the
 * function that threw (the expression text, or the whole template for `parseTemplate`/`renderTemplate`),
 * so callers can turn it into a line and column of the YAML file.
 */
export class ExpressionError extends Error {
  override name = "ExpressionError";
  readonly offset: number;
  readonly length: number;

  constructor(message: string, offset: number, length: number, options?: ErrorOptions) {
    super(message, options);
    this.offset = offset;
    this.length = length;
  }
}

/** A start/end pair of offsets; every AST node and token has one. */
export interface Span {
  start: number;
  end: number;
}

export function errorAt(message: string, span: Span, options?: ErrorOptions): ExpressionError {
  return new ExpressionError(message, span.start, span.end - span.start, options);
}

/** The same error moved by `delta`, for an expression that sits inside a larger string. */
export function shiftError(error: ExpressionError, delta: number): ExpressionError {
  return new ExpressionError(error.message, error.offset + delta, error.length, { cause: error.cause });
}
