import { describe, expect, it } from "vitest";
import type { Expr } from "./ast.js";
import { ExpressionError } from "./errors.js";
import { MAX_DEPTH, parseExpression } from "./parser.js";

/** A compact Lisp-like rendering of the tree, so precedence is easy to read in assertions. */
function show(expr: Expr): string {
  switch (expr.kind) {
    case "literal":
      return JSON.stringify(expr.value);
    case "list":
      return `[${expr.items.map(show).join(" ")}]`;
    case "name":
      return expr.name;
    case "member":
      return `${show(expr.object)}.${expr.property}`;
    case "index":
      return `${show(expr.object)}[${show(expr.index)}]`;
    case "call":
      return `${expr.name}(${expr.args.map(show).join(" ")})`;
    case "unary":
      return `(${expr.op} ${show(expr.operand)})`;
    case "binary":
      return `(${expr.op} ${show(expr.left)} ${show(expr.right)})`;
  }
}

const parsed = (text: string) => show(parseExpression(text));

function parseError(text: string): ExpressionError {
  try {
    parseExpression(text);
  } catch (error) {
    if (error instanceof ExpressionError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} not to parse`);
}

describe("parseExpression: literals", () => {
  it("parses numbers, including decimals, exponents and negatives", () => {
    expect(parsed("42")).toBe("42");
    expect(parsed("3.25")).toBe("3.25");
    expect(parsed("1e3")).toBe("1000");
    expect(parsed("-7")).toBe("-7");
    expect(parsed("- 2.5")).toBe("-2.5");
  });

  it("folds a minus before a number into the literal, keeping the span", () => {
    expect(parseExpression(" -1")).toEqual({ kind: "literal", value: -1, start: 1, end: 3 });
  });

  it("parses single-quoted strings with doubled quotes", () => {
    expect(parseExpression("'it''s'")).toMatchObject({ kind: "literal", value: "it's", start: 0, end: 7 });
    expect(parseExpression("''")).toMatchObject({ value: "" });
    expect(parseExpression("'a\\nb'")).toMatchObject({ value: "a\\nb" });
  });

  it("parses double-quoted strings with backslash escapes", () => {
    expect(parseExpression('"a\\"b\\\\c\\n\\t\\u00e9\\\'"')).toMatchObject({ value: "a\"b\\c\n\té'" });
    expect(parseExpression('"it\'s"')).toMatchObject({ value: "it's" });
  });

  it("parses keywords and lists", () => {
    expect(parsed("true")).toBe("true");
    expect(parsed("false")).toBe("false");
    expect(parsed("null")).toBe("null");
    expect(parsed("[]")).toBe("[]");
    expect(parsed("[1, 'a', [true], params.x]")).toBe('[1 "a" [true] params.x]');
  });
});

describe("parseExpression: names and access", () => {
  it("parses member and index chains", () => {
    expect(parsed("tasks.fetch.outputs.rows")).toBe("tasks.fetch.outputs.rows");
    expect(parsed("a['b'][0][params.i].c")).toBe('a["b"][0][params.i].c');
  });

  it("allows hyphens inside names", () => {
    expect(parsed("tasks.fetch-bars.outputs.row-count")).toBe("tasks.fetch-bars.outputs.row-count");
  });

  it("allows keywords as property names", () => {
    expect(parsed("params.true.null")).toBe("params.true.null");
  });

  it("parses calls and access on their result", () => {
    expect(parsed("format('{0}', a, b)")).toBe('format("{0}" a b)');
    expect(parsed("always()")).toBe("always()");
    expect(parsed("from_json(x).a[0]")).toBe("from_json(x).a[0]");
  });

  it("records spans in the expression text", () => {
    const expr = parseExpression("  params.a [ 0 ] ");
    expect(expr).toMatchObject({ kind: "index", start: 2, end: 16 });
  });
});

describe("parseExpression: precedence", () => {
  it("orders || below && below equality below comparison", () => {
    expect(parsed("a || b && c")).toBe("(|| a (&& b c))");
    expect(parsed("a && b || c")).toBe("(|| (&& a b) c)");
    expect(parsed("a == b && c != d")).toBe("(&& (== a b) (!= c d))");
    expect(parsed("a < b == c >= d")).toBe("(== (< a b) (>= c d))");
  });

  it("is left-associative", () => {
    expect(parsed("a || b || c")).toBe("(|| (|| a b) c)");
    expect(parsed("a == b == c")).toBe("(== (== a b) c)");
  });

  it("binds unary operators tighter than binary ones and looser than access", () => {
    expect(parsed("!a && b")).toBe("(&& (! a) b)");
    expect(parsed("!a.b[0]")).toBe("(! a.b[0])");
    expect(parsed("-a.b < 0")).toBe("(< (- a.b) 0)");
    expect(parsed("!!a")).toBe("(! (! a))");
  });

  it("respects parentheses and widens spans to them", () => {
    expect(parsed("(a || b) && c")).toBe("(&& (|| a b) c)");
    expect(parseExpression("(a || b) && c")).toMatchObject({ start: 0, end: 13, left: { start: 0, end: 8 } });
  });

  it("does not read the hyphen of a name as an operator", () => {
    expect(parsed("a-1")).toBe("a-1");
    // There is no binary minus: with spaces it is an error, not a subtraction.
    expect(parseError("a - 1")).toMatchObject({ offset: 2, length: 1 });
  });
});

describe("parseExpression: errors", () => {
  it.each([
    ["params.a +", 9, 1, "unexpected character"],
    ["params.a =", 9, 1, "did you mean '=='"],
    ["a & b", 2, 1, "did you mean '&&'"],
    ["", 0, 0, "expected an expression"],
    ["a ||", 4, 0, "expected an expression"],
    ["(a", 2, 0, "expected ')'"],
    ["[1 2]", 3, 1, "expected ',' or ']'"],
    ["f(1 2)", 4, 1, "expected ',' or ')'"],
    ["a b", 2, 1, "unexpected 'b'"],
    ["a.", 2, 0, "expected a property name"],
    ["a.1", 2, 1, "expected a property name"],
    ["'abc", 0, 4, "unterminated string"],
    ['x == "abc', 5, 4, "unterminated string"],
    ['"a\\qb"', 2, 2, "invalid escape"],
    ['"\\u12"', 1, 5, "invalid escape"],
    ["12abc", 0, 5, "invalid number"],
    ["1e999", 0, 5, "too large"],
    ["a.b(1)", 3, 1, "only functions can be called"],
    ["f(1)(2)", 4, 1, "only functions can be called"],
    ["a @ b", 2, 1, "unexpected character"],
    ["a == 😀", 5, 2, "unexpected character"],
  ])("%j fails at offset %i, length %i", (text, offset, length, message) => {
    const error = parseError(text);
    expect(error.message).toContain(message);
    expect({ offset: error.offset, length: error.length }).toEqual({ offset, length });
  });

  it("accepts nesting up to the limit and rejects deeper nesting", () => {
    const nested = (n: number) => `${"(".repeat(n)}1${")".repeat(n)}`;
    expect(parseExpression(nested(MAX_DEPTH - 1))).toMatchObject({ value: 1 });
    expect(parseError(nested(MAX_DEPTH + 1)).message).toContain("nested too deeply");
  });

  it("rejects overly long chains, which would nest deeply when evaluated", () => {
    expect(parseError(`a${" || a".repeat(MAX_DEPTH + 1)}`).message).toContain("nested too deeply");
    expect(parseError(`a${".b".repeat(MAX_DEPTH + 1)}`).message).toContain("nested too deeply");
    expect(parseError(`${"!".repeat(100_000)}a`).message).toContain("nested too deeply");
    expect(parseError("[".repeat(100_000)).message).toContain("nested too deeply");
  });
});
