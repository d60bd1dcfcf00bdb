import { describe, expect, it } from "vitest";
import type { EvalContext } from "./evaluate.js";
import { expressionError, pointedText, run } from "./test-helpers.js";

const ctx: EvalContext = {
  params: {
    symbols: ["AAPL", "MSFT"],
    lookback: 20,
    name: "daily",
    empty: [],
    nothing: null,
    nested: { a: { b: 1 } },
  },
  env: { API_KEY: "secret", UNSET: undefined },
  tasks: { "fetch-bars": { outputs: { rows: 1200, path: "/tmp/bars.parquet" }, state: "success" } },
  run: { id: "r-1", date: "2024-03-15", pipeline: "daily" },
  item: { symbol: "AAPL", weights: [0.5, 0.5] },
};

function failure(text: string, context: EvalContext = ctx) {
  const error = expressionError(() => run(text, context));
  return { message: error.message, at: pointedText(text, error) };
}

describe("evaluate: names and access", () => {
  it("reads the context roots", () => {
    expect(run("params.lookback", ctx)).toBe(20);
    expect(run("params.symbols", ctx)).toEqual(["AAPL", "MSFT"]);
    expect(run("env.API_KEY", ctx)).toBe("secret");
    expect(run("tasks.fetch-bars.outputs.rows", ctx)).toBe(1200);
    expect(run("tasks['fetch-bars'].state", ctx)).toBe("success");
    expect(run("run.date", ctx)).toBe("2024-03-15");
    expect(run("item.symbol", ctx)).toBe("AAPL");
    expect(run("item", { item: 3 })).toBe(3);
  });

  it("reads env as a whole from wholeEnv (secrets masked), env.NAME and env['NAME'] from env", () => {
    const masked: EvalContext = { ...ctx, wholeEnv: { API_KEY: "***" } };
    expect(run("to_json(env)", masked)).toBe('{"API_KEY":"***"}');
    expect(run("env.API_KEY", masked)).toBe("secret");
    expect(run("env['API_KEY']", masked)).toBe("secret");
    expect(run("to_json(env)", ctx)).toBe('{"API_KEY":"secret"}');
  });

  it("indexes lists and objects", () => {
    expect(run("params.symbols[1]", ctx)).toBe("MSFT");
    expect(run("params['symbols'][0]", ctx)).toBe("AAPL");
    expect(run("item.weights[params.empty[0] || 1]", ctx)).toBe(0.5);
    expect(run("[10, 20, 30][2]")).toBe(30);
    expect(run("params.nested['a'].b", ctx)).toBe(1);
  });

  it("yields null for anything missing, never a TypeError", () => {
    for (const text of [
      "params.missing",
      "params.missing.deeper.still",
      "params.nothing.x",
      "params.lookback.x",
      "params.name.length",
      "params.symbols.length",
      "params.symbols[5]",
      "params.symbols[-1]",
      "params.symbols[0.5]",
      "params.symbols['0']",
      "params[0]",
      "params[true]",
      "params[null]",
      "env.UNSET",
      "tasks.nope.outputs.rows",
      "'abc'[0]",
    ]) {
      expect(run(text, ctx), text).toBeNull();
    }
  });

  it("yields null for roots absent from the context", () => {
    expect(run("params")).toBeNull();
    expect(run("params.a.b")).toBeNull();
    expect(run("item")).toBeNull();
  });

  it("never exposes prototype members", () => {
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
      expect(run(`params.${name}`, ctx), name).toBeNull();
      expect(run(`params['${name}']`, ctx), name).toBeNull();
      expect(run(`params.symbols['${name}']`, ctx), name).toBeNull();
      expect(run(`'x'.${name}`, ctx), name).toBeNull();
    }
  });

  it("reads own properties named like prototype members", () => {
    expect(run('from_json(\'{"__proto__": 1, "constructor": 2}\').__proto__')).toBe(1);
    expect(run("params.constructor", { params: { constructor: "mine" } })).toBe("mine");
  });

  it("rejects unknown root names at the name", () => {
    expect(failure("params.a || secrets.token")).toEqual({
      message: expect.stringContaining("unknown name 'secrets'"),
      at: "secrets",
    });
    expect(failure("constructor").at).toBe("constructor");
  });
});

describe("evaluate: operators", () => {
  it("compares with == and != strictly, without coercion", () => {
    expect(run("1 == 1")).toBe(true);
    expect(run("1 == '1'")).toBe(false);
    expect(run("1 != '1'")).toBe(true);
    expect(run("null == false")).toBe(false);
    expect(run("params.missing == null", ctx)).toBe(true);
    expect(run("'a' == 'a'")).toBe(true);
    expect(run("0 == -0")).toBe(true);
  });

  it("compares lists and objects by value", () => {
    expect(run("params.symbols == ['AAPL', 'MSFT']", ctx)).toBe(true);
    expect(run("params.symbols == ['MSFT', 'AAPL']", ctx)).toBe(false);
    expect(run("[] == []")).toBe(true);
    expect(run("[1] == [1, 2]")).toBe(false);
    expect(run('params.nested == from_json(\'{"a":{"b":1}}\')', ctx)).toBe(true);
    expect(run('params.nested != from_json(\'{"a":{"b":2}}\')', ctx)).toBe(true);
    expect(run("[] == from_json('{}')")).toBe(false);
  });

  it("orders two numbers or two strings", () => {
    expect(run("1 < 2")).toBe(true);
    expect(run("2 <= 2")).toBe(true);
    expect(run("3 > 2.5")).toBe(true);
    expect(run("2 >= 3")).toBe(false);
    expect(run("'2024-01-31' < '2024-02-01'")).toBe(true);
    expect(run("run.date >= '2024-03-15'", ctx)).toBe(true);
    expect(run("-1 < 0")).toBe(true);
  });

  it("rejects ordering mixed or non-scalar values, pointing at the comparison", () => {
    expect(failure("params.lookback < '30'")).toEqual({
      message: "cannot compare a number with a string using '<'",
      at: "params.lookback < '30'",
    });
    expect(failure("params.missing > 1").message).toContain("cannot compare null with a number");
    expect(failure("[1] <= [2]").message).toContain("a list");
  });

  it("short-circuits && and ||, returning an operand", () => {
    expect(run("params.missing || 'default'", ctx)).toBe("default");
    expect(run("params.name || 'default'", ctx)).toBe("daily");
    expect(run("params.name && params.lookback", ctx)).toBe(20);
    expect(run("0 && nope.x")).toBe(0);
    expect(run("1 || nope.x")).toBe(1);
    expect(run("'' || null")).toBeNull();
  });

  it("negates with ! by truthiness", () => {
    for (const falsy of ["null", "false", "0", "''", "params.missing"])
      expect(run(`!${falsy}`, ctx), falsy).toBe(true);
    for (const truthy of ["true", "1", "'0'", "[]", "params.empty", "params", "-1"]) {
      expect(run(`!${truthy}`, ctx), truthy).toBe(false);
    }
  });

  it("negates numbers with unary minus, and only numbers", () => {
    expect(run("-params.lookback", ctx)).toBe(-20);
    expect(run("--2")).toBe(2);
    expect(failure("-params.name")).toEqual({ message: "cannot negate a string", at: "-params.name" });
  });

  it("builds lists from expressions", () => {
    expect(run("[params.lookback, item.symbol, null, [1]]", ctx)).toEqual([20, "AAPL", null, [1]]);
  });
});
