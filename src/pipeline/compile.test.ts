import { describe, expect, it } from "vitest";
import { compileTask } from "./compile.js";
import type { TaskDocument } from "./document.js";
import { type EvalContext, ExpressionError } from "./expression/index.js";

const ctx: EvalContext = {
  params: { symbols: ["AAPL", "MSFT"], days: 5 },
  run: { id: "r1", date: "2025-03-14" },
  item: "AAPL",
  tasks: { fetch: { outputs: { rows: 42, first: { close: 1.5 } }, state: "Completed" } },
  status: { success: true, failure: false, cancelled: false },
};

const task = (doc: Omit<TaskDocument, "uses">): TaskDocument => ({ uses: "log", ...doc });

describe("compileTask", () => {
  it("renders `with` as a tree: whole expressions keep their type, text is interpolated, the rest stays", () => {
    const compiled = compileTask(
      task({
        with: {
          symbols: "${{ params.symbols }}",
          message: "rows=${{ tasks.fetch.outputs.rows }} on ${{ run.date }}",
          nested: { list: ["${{ item }}", 3, true, null], plain: "no expression" },
        },
      }),
    );
    expect(compiled.with(ctx)).toEqual({
      symbols: ["AAPL", "MSFT"],
      message: "rows=42 on 2025-03-14",
      nested: { list: ["AAPL", 3, true, null], plain: "no expression" },
    });
  });

  it("renders afresh for each context", () => {
    const compiled = compileTask(task({ with: { symbol: "${{ item }}" } }));
    expect(compiled.with({ ...ctx, item: "NVDA" })).toEqual({ symbol: "NVDA" });
    expect(compiled.with(ctx)).toEqual({ symbol: "AAPL" });
    expect(compileTask(task({})).with(ctx)).toEqual({});
  });

  it("lists the tasks its expressions name, in `with`, `if` and `cache.key`", () => {
    const compiled = compileTask(
      task({
        with: { a: "${{ tasks.fetch.outputs.rows }}", b: ["x ${{ tasks['other'].outputs.n }}"] },
        if: "tasks.gate.outputs.open",
        cache: { key: "${{ tasks.keyed.outputs.k }}" },
      }),
    );
    expect(compiled.referencedTasks.sort()).toEqual(["fetch", "gate", "keyed", "other"]);
    expect(compileTask(task({ with: { a: "${{ params.days }}" } })).referencedTasks).toEqual([]);
  });

  it("defaults `if` to success(), and takes booleans, bare expressions and `${{ }}`", () => {
    const failing = { ...ctx, status: { success: false, failure: true, cancelled: false } };
    const byDefault = compileTask(task({}));
    expect(byDefault.if(ctx)).toBe(true);
    expect(byDefault.if(failing)).toBe(false);
    expect(compileTask(task({ if: false })).if(ctx)).toBe(false);
    expect(compileTask(task({ if: "failure()" })).if(failing)).toBe(true);
    expect(compileTask(task({ if: "${{ failure() }}" })).if(ctx)).toBe(false);
    expect(compileTask(task({ if: "${{ always() }}" })).if(failing)).toBe(true);
    expect(compileTask(task({ if: "params.days > 3" })).if(ctx)).toBe(true);
  });

  it("compiles a cache key only for a task with `cache`", () => {
    expect(compileTask(task({})).cacheKey).toBeUndefined();
    const compiled = compileTask(task({ cache: { key: "${{ run.date }}/${{ item }}", expire: "1d" } }));
    expect(compiled.cacheKey?.(ctx)).toBe("2025-03-14/AAPL");
  });

  it("reports a template that does not parse when compiled, one that fails when rendered", () => {
    expect(() => compileTask(task({ with: { a: "${{ params. }}" } }))).toThrow(ExpressionError);
    const compiled = compileTask(task({ with: { a: "${{ nope.x }}" } }));
    expect(() => compiled.with(ctx)).toThrow(/unknown name 'nope'/);
  });
});
