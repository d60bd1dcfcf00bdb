import { describe, expect, it } from "vitest";
import { functionCalls, references } from "./analysis.js";
import { parseExpression } from "./parser.js";

function refs(text: string) {
  return references(parseExpression(text)).map((ref) => ({
    root: ref.root,
    path: ref.path,
    text: text.slice(ref.start, ref.end),
  }));
}

describe("references", () => {
  it("gives root and static path", () => {
    expect(refs("params.symbols")).toEqual([{ root: "params", path: ["symbols"], text: "params.symbols" }]);
    expect(refs("tasks.fetch-bars.outputs.rows")).toEqual([
      { root: "tasks", path: ["fetch-bars", "outputs", "rows"], text: "tasks.fetch-bars.outputs.rows" },
    ]);
    expect(refs("item")).toEqual([{ root: "item", path: [], text: "item" }]);
  });

  it("includes literal indexes in the path", () => {
    expect(refs("tasks['fetch'].outputs[\"rows\"][0]")).toEqual([
      { root: "tasks", path: ["fetch", "outputs", "rows", 0], text: "tasks['fetch'].outputs[\"rows\"][0]" },
    ]);
  });

  it("stops the path at the first dynamic index, and reports the index's own references", () => {
    expect(refs("params.list[params.i].name")).toEqual([
      { root: "params", path: ["list"], text: "params.list" },
      { root: "params", path: ["i"], text: "params.i" },
    ]);
    expect(refs("a[-1].b")).toEqual([{ root: "a", path: [], text: "a" }]);
  });

  it("finds references everywhere, in source order, including unknown roots", () => {
    expect(refs("contains(params.symbols, item.symbol) && !env.SKIP || foo")).toEqual([
      { root: "params", path: ["symbols"], text: "params.symbols" },
      { root: "item", path: ["symbol"], text: "item.symbol" },
      { root: "env", path: ["SKIP"], text: "env.SKIP" },
      { root: "foo", path: [], text: "foo" },
    ]);
    expect(refs("[run.date, (params).x]").map((ref) => ref.path)).toEqual([["date"], ["x"]]);
  });

  it("does not report access on values that are not names", () => {
    expect(refs("from_json(params.raw).a[0]")).toEqual([
      { root: "params", path: ["raw"], text: "params.raw" },
    ]);
    expect(refs("'x' == [1][0]")).toEqual([]);
  });
});

describe("functionCalls", () => {
  it("lists calls with their argument counts and spans, outer first", () => {
    const text = "success() && format('{0}', join(params.list, upper('x')))";
    const calls = functionCalls(parseExpression(text)).map((call) => ({
      name: call.name,
      argc: call.argc,
      text: text.slice(call.start, call.end),
    }));
    expect(calls).toEqual([
      { name: "success", argc: 0, text: "success()" },
      { name: "format", argc: 2, text: "format('{0}', join(params.list, upper('x')))" },
      { name: "join", argc: 2, text: "join(params.list, upper('x'))" },
      { name: "upper", argc: 1, text: "upper('x')" },
    ]);
  });

  it("includes unknown functions, for static checks", () => {
    expect(functionCalls(parseExpression("a[nope(1, 2, 3)]"))).toEqual([
      { name: "nope", argc: 3, start: 2, end: 15 },
    ]);
    expect(functionCalls(parseExpression("params.a"))).toEqual([]);
  });
});
