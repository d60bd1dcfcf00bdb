import { describe, expect, it } from "vitest";
import type { EvalContext } from "./evaluate.js";
import { isExpressionString, parseTemplate, renderTemplate, type Template } from "./template.js";
import { expressionError, pointedText } from "./test-helpers.js";

const ctx: EvalContext = {
  params: { symbols: ["AAPL", "MSFT"], lookback: 20, nothing: null, flag: true, opts: { a: 1 } },
  run: { date: "2024-03-15" },
};

function render(str: string, context: EvalContext = ctx): unknown {
  return renderTemplate(parseTemplate(str)!, context);
}

describe("isExpressionString / parseTemplate", () => {
  it("recognizes strings with ${{", () => {
    expect(isExpressionString("a ${{ b }}")).toBe(true);
    expect(isExpressionString("a ${ b } {{ c }} $")).toBe(false);
    expect(parseTemplate("no expressions here")).toBeUndefined();
    expect(parseTemplate("")).toBeUndefined();
  });

  it("splits text and expressions, with offsets of the expression text", () => {
    const str = "bars/${{ params.lookback }}/${{run.date}}.parquet";
    const tpl = parseTemplate(str)!;
    expect(tpl.whole).toBe(false);
    expect(tpl.parts.map((part) => (part.kind === "text" ? part.text : `<${part.source}>`))).toEqual([
      "bars/",
      "< params.lookback >",
      "/",
      "<run.date>",
      ".parquet",
    ]);
    for (const part of tpl.parts) {
      if (part.kind === "expr")
        expect(str.slice(part.offset, part.offset + part.source.length)).toBe(part.source);
    }
  });

  it("is whole only for exactly one expression, ignoring surrounding whitespace", () => {
    expect(parseTemplate("${{ params.symbols }}")!.whole).toBe(true);
    expect(parseTemplate("  ${{ params.symbols }}\n")!.whole).toBe(true);
    expect(parseTemplate("x${{ params.symbols }}")!.whole).toBe(false);
    expect(parseTemplate("${{ a }}${{ b }}")!.whole).toBe(false);
    expect(parseTemplate("${{ a }} ${{ b }}")!.whole).toBe(false);
  });

  it("finds the closing }} outside string literals", () => {
    const tpl = parseTemplate("${{ format('{{{0}}}', 'x') }} and ${{ \"}}\" }}")!;
    expect(tpl.parts.filter((part) => part.kind === "expr").map((part) => part.source)).toEqual([
      " format('{{{0}}}', 'x') ",
      ' "}}" ',
    ]);
  });

  it("writes a literal ${{ as a string expression", () => {
    expect(render("a ${{ '${{' }} b")).toBe("a ${{ b");
  });

  it("reports an unterminated ${{ at its position in the template", () => {
    const str = "prefix ${{ ok }} then ${{ params.a ";
    const error = expressionError(() => parseTemplate(str));
    expect(error.message).toContain("unterminated");
    expect({ offset: error.offset, length: error.length }).toEqual({ offset: 22, length: 3 });
  });

  it("reports expression errors at their position in the template", () => {
    const str = "a: ${{ params.a + 1 }}";
    const error = expressionError(() => parseTemplate(str));
    expect(error.offset).toBe(16);
    expect(pointedText(str, error)).toBe("+");
  });

  it("reports an unclosed quote as an unterminated string, not a missing }}", () => {
    const str = "${{ it's }} later";
    const error = expressionError(() => parseTemplate(str));
    expect(error.message).toContain("unterminated string");
    expect(error.offset).toBe(6);
  });

  it("reports an empty expression", () => {
    const error = expressionError(() => parseTemplate("x ${{  }}"));
    expect(error.message).toContain("expected an expression");
    expect(error.offset).toBe(7);
  });
});

describe("renderTemplate", () => {
  it("gives a whole template the typed value", () => {
    expect(render("${{ params.symbols }}")).toEqual(["AAPL", "MSFT"]);
    expect(render(" ${{ params.lookback }} ")).toBe(20);
    expect(render("${{ params.flag }}")).toBe(true);
    expect(render("${{ params.nothing }}")).toBeNull();
    expect(render("${{ params.missing }}")).toBeNull();
  });

  it("renders an interpolated template as a string", () => {
    expect(render("n=${{ params.lookback }}")).toBe("n=20");
    expect(render("${{ params.flag }}!")).toBe("true!");
    expect(render("[${{ params.nothing }}]")).toBe("[]");
    expect(render("${{ params.symbols }} ${{ params.opts }}")).toBe('["AAPL","MSFT"] {"a":1}');
    expect(render("${{ run.date }}/${{ join(params.symbols, '+') }}/x")).toBe("2024-03-15/AAPL+MSFT/x");
  });

  it("reports evaluation errors at their position in the template", () => {
    const str = "x ${{ params.lookback }} ${{ nope(1) }}";
    const error = expressionError(() => render(str));
    expect(error.message).toBe("unknown function 'nope'");
    expect(pointedText(str, error)).toBe("nope(1)");

    const whole = "  ${{ upper(params.lookback) }}";
    const wholeError = expressionError(() => render(whole));
    expect(pointedText(whole, wholeError)).toBe("params.lookback");
  });

  it("renders a hand-built template", () => {
    const tpl: Template = { parts: [{ kind: "text", text: "plain" }], whole: false };
    expect(renderTemplate(tpl, ctx)).toBe("plain");
  });
});
