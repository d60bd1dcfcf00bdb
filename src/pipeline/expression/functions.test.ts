import { describe, expect, it } from "vitest";
import type { EvalContext } from "./evaluate.js";
import { FUNCTIONS } from "./functions.js";
import { expressionError, pointedText, run } from "./test-helpers.js";

function failure(text: string, ctx: EvalContext = {}) {
  const error = expressionError(() => run(text, ctx));
  return { message: error.message, at: pointedText(text, error) };
}

describe("FUNCTIONS", () => {
  it("lists every function with its arity and a summary", () => {
    expect(Object.keys(FUNCTIONS).sort()).toEqual(
      [
        "always",
        "cancelled",
        "coalesce",
        "contains",
        "date_add",
        "ends_with",
        "failure",
        "format",
        "from_json",
        "join",
        "length",
        "lower",
        "starts_with",
        "success",
        "to_json",
        "today",
        "trading_days_ago",
        "upper",
      ].sort(),
    );
    for (const info of Object.values(FUNCTIONS)) {
      expect(info.summary).not.toBe("");
      expect(info.minArgs).toBeLessThanOrEqual(info.maxArgs);
      expect(info).not.toHaveProperty("run");
    }
    expect(FUNCTIONS.format).toMatchObject({ minArgs: 1, maxArgs: Number.POSITIVE_INFINITY });
  });

  it("marks only the status functions as status", () => {
    const status = Object.entries(FUNCTIONS).filter(([, info]) => info.status);
    expect(status.map(([name]) => name).sort()).toEqual(["always", "cancelled", "failure", "success"]);
  });

  it("has no prototype members", () => {
    expect(FUNCTIONS.toString).toBeUndefined();
    expect("constructor" in FUNCTIONS).toBe(false);
  });
});

describe("calls", () => {
  it("rejects unknown functions at the call", () => {
    expect(failure("params.a || toJSON(params)")).toEqual({
      message: "unknown function 'toJSON'",
      at: "toJSON(params)",
    });
    expect(failure("constructor()").message).toBe("unknown function 'constructor'");
  });

  it("checks the number of arguments", () => {
    expect(failure("always(1)")).toEqual({ message: "always() expects 0 arguments, got 1", at: "always(1)" });
    expect(failure("contains('a')").message).toBe("contains() expects 2 arguments, got 1");
    expect(failure("join()").message).toBe("join() expects 1 to 2 arguments, got 0");
    expect(failure("format()").message).toBe("format() expects at least 1 argument, got 0");
  });
});

describe("status functions", () => {
  const status = (success: boolean, failure: boolean, cancelled: boolean) => ({
    status: { success, failure, cancelled },
  });

  it("read ctx.status", () => {
    expect(run("success()", status(true, false, false))).toBe(true);
    expect(run("success()", status(false, true, false))).toBe(false);
    expect(run("failure()", status(false, true, false))).toBe(true);
    expect(run("cancelled()", status(false, false, true))).toBe(true);
    expect(run("always()", status(false, true, true))).toBe(true);
  });

  it("default to a healthy run", () => {
    expect(run("success()")).toBe(true);
    expect(run("failure()")).toBe(false);
    expect(run("cancelled()")).toBe(false);
    expect(run("always()")).toBe(true);
  });
});

describe("dates", () => {
  it("today() prefers ctx.today, then run.date, then the local date", () => {
    expect(run("today()", { today: "2024-05-01", run: { date: "2024-04-30" } })).toBe("2024-05-01");
    expect(run("today()", { run: { date: "2024-04-30" } })).toBe("2024-04-30");
    expect(run("today()")).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("trading_days_ago(n) asks the caller's calendar", () => {
    const asked: number[] = [];
    const ctx: EvalContext = {
      tradingDaysAgo: (n) => {
        asked.push(n);
        return `day-${n}`;
      },
    };
    expect(run("trading_days_ago(0)", ctx)).toBe("day-0");
    expect(run("trading_days_ago(5)", ctx)).toBe("day-5");
    expect(asked).toEqual([0, 5]);
  });

  it("trading_days_ago(n) rejects bad n and a missing calendar", () => {
    const ctx: EvalContext = { tradingDaysAgo: () => "2024-01-02" };
    expect(failure("trading_days_ago(-1)", ctx)).toMatchObject({ at: "-1" });
    expect(failure("trading_days_ago(1.5)", ctx).message).toContain("whole number >= 0, got 1.5");
    expect(failure("trading_days_ago('3')", ctx).message).toContain("got a string");
    expect(failure("trading_days_ago(3)")).toMatchObject({
      message: expect.stringContaining("needs a trading calendar"),
      at: "trading_days_ago(3)",
    });
  });

  it("trading_days_ago(n) reports a failing calendar as an ExpressionError", () => {
    const ctx: EvalContext = {
      tradingDaysAgo: () => {
        throw new RangeError("before the calendar starts");
      },
    };
    expect(failure("trading_days_ago(99999)", ctx).message).toContain("before the calendar starts");
  });

  it("date_add adds days and weeks in UTC calendar days", () => {
    expect(run("date_add('2024-01-31', '3d')")).toBe("2024-02-03");
    expect(run("date_add('2024-03-01', '-1d')")).toBe("2024-02-29");
    expect(run("date_add('2024-03-09', '1d')")).toBe("2024-03-10"); // US DST change weekend
    expect(run("date_add('2024-03-31', '+1w')")).toBe("2024-04-07");
    expect(run("date_add('2024-12-31', '0d')")).toBe("2024-12-31");
    expect(run("date_add('0001-01-01', '-1d')")).toBe("0000-12-31");
    expect(run("date_add(run.date, '-2w')", { run: { date: "2024-01-10" } })).toBe("2023-12-27");
  });

  it("date_add rejects bad dates and durations at the argument", () => {
    expect(failure("date_add('2024-02-30', '1d')")).toMatchObject({ at: "'2024-02-30'" });
    expect(failure("date_add('2024-1-5', '1d')")).toMatchObject({ at: "'2024-1-5'" });
    expect(failure("date_add('2024-01-05', '1h')")).toMatchObject({
      message: expect.stringContaining("duration of whole days or weeks"),
      at: "'1h'",
    });
    expect(failure("date_add('2024-01-05', '1.5d')").at).toBe("'1.5d'");
    expect(failure("date_add('2024-01-05', 3)").message).toBe("date_add() expects a string, got a number");
    expect(failure("date_add('9999-12-31', '1d')").message).toContain("out of range");
    expect(failure("date_add('2024-01-01', '99999999999999999999d')").message).toContain("out of range");
  });
});

describe("format", () => {
  it("substitutes arguments by index, as text", () => {
    expect(run("format('{0} on {1}', 'AAPL', '2024-01-02')")).toBe("AAPL on 2024-01-02");
    expect(run("format('{1}{0}{1}', 1, true)")).toBe("true1true");
    expect(run("format('{0}|{1}|{2}', null, [1, 'a'], 2.5)")).toBe('|[1,"a"]|2.5');
    expect(run("format('plain')")).toBe("plain");
  });

  it("escapes braces by doubling them", () => {
    expect(run("format('{{0}} is {0}, }}{{', 'x')")).toBe("{0} is x, }{");
  });

  it("rejects missing arguments and stray braces at the format string", () => {
    expect(failure("format('{0} {1}', 'a')")).toMatchObject({
      message: expect.stringContaining("{1}"),
      at: "'{0} {1}'",
    });
    expect(failure("format('{x}', 1)").message).toContain("unmatched '{'");
    expect(failure("format('{0', 1)").message).toContain("unmatched '{'");
    expect(failure("format('a } b')").message).toContain("unmatched '}'");
    expect(failure("format(1)").message).toBe("format() expects a string, got a number");
  });
});

describe("list and string functions", () => {
  const ctx: EvalContext = { params: { symbols: ["AAPL", "MSFT"], pairs: [[1, 2]], name: "Daily Bars" } };

  it("contains() checks list membership by value and substrings", () => {
    expect(run("contains(params.symbols, 'MSFT')", ctx)).toBe(true);
    expect(run("contains(params.symbols, 'msft')", ctx)).toBe(false);
    expect(run("contains(params.pairs, [1, 2])", ctx)).toBe(true);
    expect(run("contains([1, 2], '1')")).toBe(false);
    expect(run("contains(params.name, 'Bars')", ctx)).toBe(true);
    expect(run("contains(params.name, 'bars')", ctx)).toBe(false);
    expect(failure("contains(params.missing, 'x')", ctx)).toMatchObject({ at: "params.missing" });
    expect(failure("contains('abc', 1)").message).toContain("expects a string, got a number");
  });

  it("join() joins items as text with ',' by default", () => {
    expect(run("join(params.symbols)", ctx)).toBe("AAPL,MSFT");
    expect(run("join(params.symbols, ' ')", ctx)).toBe("AAPL MSFT");
    expect(run("join([1, null, true, [2]], '-')")).toBe("1--true-[2]");
    expect(run("join([])")).toBe("");
    expect(failure("join('abc')").message).toBe("join() expects a list, got a string");
    expect(failure("join([1], 2)").at).toBe("2");
  });

  it("length() counts list items and string characters", () => {
    expect(run("length(params.symbols)", ctx)).toBe(2);
    expect(run("length('')")).toBe(0);
    expect(run("length('héllo😀')")).toBe(6);
    expect(failure("length(params)", ctx).message).toBe("length() expects a list or a string, got an object");
  });

  it("starts_with, ends_with, lower, upper work on strings", () => {
    expect(run("starts_with(params.name, 'Daily')", ctx)).toBe(true);
    expect(run("starts_with(params.name, 'daily')", ctx)).toBe(false);
    expect(run("ends_with(params.name, 'Bars')", ctx)).toBe(true);
    expect(run("lower(params.name)", ctx)).toBe("daily bars");
    expect(run("upper(params.name)", ctx)).toBe("DAILY BARS");
    expect(failure("upper(params.symbols)", ctx)).toEqual({
      message: "upper() expects a string, got a list",
      at: "params.symbols",
    });
    expect(failure("ends_with('a', null)").at).toBe("null");
  });

  it("to_json and from_json convert both ways", () => {
    expect(run("to_json(params.symbols)", ctx)).toBe('["AAPL","MSFT"]');
    expect(run("to_json(null)")).toBe("null");
    expect(run("to_json('a')")).toBe('"a"');
    expect(run("from_json('{\"a\": [1, 2]}').a[1]")).toBe(2);
    expect(run("from_json(to_json(params))", ctx)).toEqual(ctx.params);
    expect(failure("from_json('{nope')")).toMatchObject({
      message: expect.stringContaining("invalid JSON"),
      at: "'{nope'",
    });
    expect(failure("from_json(1)").message).toBe("from_json() expects a string, got a number");
  });

  it("to_json reports values JSON cannot hold", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(failure("to_json(params.c)", { params: { c: cyclic } }).at).toBe("params.c");
    expect(failure("to_json(params.big)", { params: { big: 1n } }).message).toContain("JSON");
  });

  it("coalesce() returns the first non-null argument", () => {
    expect(run("coalesce(params.missing, params.name, 'x')", ctx)).toBe("Daily Bars");
    expect(run("coalesce(null, false, 1)")).toBe(false);
    expect(run("coalesce(null, params.missing)", ctx)).toBeNull();
  });
});
