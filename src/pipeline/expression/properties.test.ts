import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExpressionError } from "./errors.js";
import { type EvalContext, evaluate } from "./evaluate.js";
import { MAX_DEPTH, parseExpression } from "./parser.js";
import { parseTemplate, renderTemplate } from "./template.js";
import { run } from "./test-helpers.js";

const emptyish: EvalContext = {
  params: { a: 1, s: "x", list: [1, "two", null], obj: { k: "v" } },
  env: {},
  tasks: {},
  run: { date: "2024-01-02" },
};

/**
 * Runs `fn` on `text`: it may return, or throw an ExpressionError that points inside `text`;
 * anything else (TypeError, RangeError from a stack overflow, ...) fails the property.
 */
function returnsOrExpressionError(text: string, fn: (text: string) => unknown): void {
  try {
    fn(text);
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    expect(error.offset).toBeGreaterThanOrEqual(0);
    expect(error.length).toBeGreaterThanOrEqual(0);
    expect(error.offset + error.length).toBeLessThanOrEqual(text.length);
  }
}

const parseAndEvaluate = (text: string) => evaluate(parseExpression(text), emptyish);
const parseAndRender = (text: string) => {
  const tpl = parseTemplate(text);
  return tpl && renderTemplate(tpl, emptyish);
};

// Pieces of the language (and near misses), mostly separated by a space so names stay apart.
const TOKENS = [
  ..."params env tasks run item foo a-b x constructor __proto__ true false null".split(" "),
  ...". [ ] ( ) , == != < <= > >= && || ! - = & | @ ' \" ${{ }} { }".split(" "),
  ..."0 1 -1 2.5 1e3 007 'a' 'it''s' \"q\\n\" \"\\u00e9\" '2024-01-31' '1d' '{0}' '{'".split(" "),
  ..."format contains join length from_json to_json date_add coalesce today trading_days_ago success".split(
    " ",
  ),
  "\n",
];
const tokenSoup = fc
  .array(fc.tuple(fc.constantFrom(...TOKENS), fc.constantFrom(" ", " ", "")), { maxLength: 40 })
  .map((tokens) => tokens.flat().join(""));

const FUNCTION_NAMES = [
  "format",
  "contains",
  "join",
  "length",
  "lower",
  "coalesce",
  "to_json",
  "from_json",
  "nope",
];
const BINARY_OPS = ["||", "&&", "==", "!=", "<", "<=", ">", ">="];

/** Syntactically valid expressions (the parser must accept all of them). */
const { expr: wellFormed } = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom("params", "params.a", "params.list", "item", "run.date", "env.HOME", "tasks.t.outputs.x"),
    fc.constantFrom(
      "null",
      "true",
      "false",
      "0",
      "2.5",
      "'x'",
      "'it''s'",
      '"a\\"b"',
      "[]",
      "'2024-02-29'",
      "'{0}'",
    ),
    fc.tuple(fc.constantFrom("!", "-"), tie("expr")).map(([op, operand]) => `${op}${operand}`),
    fc.tuple(tie("expr"), fc.constantFrom(...BINARY_OPS), tie("expr")).map(([l, op, r]) => `${l} ${op} ${r}`),
    fc.tuple(tie("expr"), fc.constantFrom("a", "k", "length", "constructor")).map(([e, p]) => `${e}.${p}`),
    fc.tuple(tie("expr"), tie("expr")).map(([e, i]) => `${e}[${i}]`),
    fc
      .tuple(fc.constantFrom(...FUNCTION_NAMES), fc.array(tie("expr"), { maxLength: 3 }))
      .map(([name, args]) => `${name}(${args.join(", ")})`),
    fc.array(tie("expr"), { maxLength: 3 }).map((items) => `[${items.join(", ")}]`),
    tie("expr").map((e) => `(${e})`),
  ),
}));

describe("parsing never fails with anything but an ExpressionError", () => {
  it("on arbitrary strings", () => {
    fc.assert(fc.property(fc.string(), (text) => returnsOrExpressionError(text, parseExpression)));
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => returnsOrExpressionError(text, parseExpression)),
    );
  });

  it("on token soup", () => {
    fc.assert(
      fc.property(tokenSoup, (text) => returnsOrExpressionError(text, parseExpression)),
      { numRuns: 500 },
    );
  });

  it("on templates built from arbitrary text, token soup and ${{ }}", () => {
    const piece = fc.oneof(
      fc.string({ unit: "binary" }),
      tokenSoup,
      tokenSoup.map((soup) => `\${{ ${soup} }}`),
    );
    const template = fc.array(piece, { maxLength: 5 }).map((pieces) => pieces.join(""));
    fc.assert(
      fc.property(template, (text) => returnsOrExpressionError(text, parseTemplate)),
      { numRuns: 500 },
    );
  });

  it("on deep nesting, which is rejected past MAX_DEPTH instead of overflowing the stack", () => {
    const shapes: [string, string][] = [
      ["(", ")"],
      ["[", "]"],
      ["f(", ")"],
      ["a[", "]"],
      ["!", ""],
      ["-", ""],
      ["(", ""],
      ["", ".a"],
      ["", " || a"],
      ["", "[0]"],
    ];
    const nested = fc
      .tuple(fc.constantFrom(...shapes), fc.integer({ min: 0, max: 5000 }))
      .map(([[open, close], depth]) => ({ depth, text: `${open.repeat(depth)}a${close.repeat(depth)}` }));
    fc.assert(
      fc.property(nested, ({ depth, text }) => {
        returnsOrExpressionError(text, parseExpression);
        returnsOrExpressionError(`\${{ ${text} }}`, parseTemplate);
        if (depth > MAX_DEPTH) expect(() => parseExpression(text)).toThrow(ExpressionError);
      }),
      { numRuns: 200 },
    );
  });

  it("accepts every well-formed expression", () => {
    fc.assert(
      fc.property(wellFormed, (text) => void parseExpression(text)),
      { numRuns: 300 },
    );
  });
});

describe("evaluation never fails with anything but an ExpressionError", () => {
  it("on well-formed expressions", () => {
    fc.assert(
      fc.property(wellFormed, (text) => returnsOrExpressionError(text, parseAndEvaluate)),
      { numRuns: 500 },
    );
  });

  it("on whatever token soup happens to parse", () => {
    fc.assert(
      fc.property(tokenSoup, (text) => returnsOrExpressionError(text, parseAndEvaluate)),
      { numRuns: 500 },
    );
  });

  it("on rendered templates", () => {
    const piece = fc.oneof(
      fc.string(),
      wellFormed.map((e) => `\${{ ${e} }}`),
    );
    const template = fc.array(piece, { maxLength: 4 }).map((pieces) => pieces.join(""));
    fc.assert(
      fc.property(template, (text) => returnsOrExpressionError(text, parseAndRender)),
      { numRuns: 300 },
    );
  });

  it("on values nested too deeply to compare or serialize", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const ctx: EvalContext = { params: { deep: JSON.parse(deep) } };
    for (const text of [
      "params.deep == params.deep[0]",
      "to_json(params.deep)",
      "contains([params.deep], params.deep[0])",
    ]) {
      expect(() => evaluate(parseExpression(text), ctx), text).toThrow(ExpressionError);
    }
    expect(() => renderTemplate(parseTemplate("x${{ params.deep }}")!, ctx)).toThrow(ExpressionError);
  });
});

describe("literal round trip", () => {
  /** Source text for a number: the unary minus carries the sign (also of -0). */
  const numberText = (n: number) => (n < 0 || Object.is(n, -0) ? `-${String(-n)}` : String(n));

  it("numbers evaluate to themselves", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        expect(run(numberText(n))).toBe(n);
        expect(run(`[${numberText(n)}][0]`)).toBe(n);
      }),
    );
    fc.assert(
      fc.property(fc.integer(), (n) => {
        expect(run(numberText(n))).toBe(n);
      }),
    );
  });

  it("single-quoted strings evaluate to themselves", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        expect(run(`'${s.replaceAll("'", "''")}'`)).toBe(s);
      }),
    );
  });

  it("double-quoted (JSON) strings evaluate to themselves", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        expect(run(JSON.stringify(s))).toBe(s);
      }),
    );
  });

  it("a whole template of a literal renders to the literal", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const tpl = parseTemplate(`\${{ '${s.replaceAll("'", "''")}' }}`)!;
        expect(tpl.whole).toBe(true);
        expect(renderTemplate(tpl, {})).toBe(s);
      }),
    );
  });
});
