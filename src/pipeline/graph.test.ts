import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PipelineDocument } from "./document.js";
import { findCycles, taskGraph, topologicalOrder, upstreamOf } from "./graph.js";

/** A pipeline of tasks t0..t(n-1) with the given needs. */
function pipeline(needs: readonly (readonly number[])[]): PipelineDocument {
  const tasks: PipelineDocument["tasks"] = {};
  needs.forEach((list, i) => {
    tasks[`t${i}`] = { uses: "log", needs: list.map((n) => `t${n}`) };
  });
  return { kind: "pipeline", name: "g", tasks };
}

/** Whether `from` reaches `to` through needs (a task needing itself aside), by a plain search. */
function reaches(needs: readonly (readonly number[])[], from: number, to: number): boolean {
  const seen = new Set<number>();
  const todo = needs[from]!.filter((n) => n !== from);
  while (todo.length) {
    const n = todo.pop()!;
    if (n === to) return true;
    if (seen.has(n)) continue;
    seen.add(n);
    todo.push(...needs[n]!.filter((m) => m !== n));
  }
  return false;
}

const graphs = fc
  .integer({ min: 1, max: 12 })
  .chain((n) => fc.array(fc.uniqueArray(fc.nat(n - 1), { maxLength: 4 }), { minLength: n, maxLength: n }));

describe("task graph", () => {
  it("answers upstream like a plain search, cycles included", () => {
    fc.assert(
      fc.property(graphs, (needs) => {
        const graph = taskGraph(pipeline(needs));
        const upstream = upstreamOf(graph);
        const ordered = topologicalOrder(graph).length === needs.length;
        for (let a = 0; a < needs.length; a++)
          for (let b = 0; b < needs.length; b++) {
            // With a cycle, the sets may be partial: never more than the truth.
            const truth = reaches(needs, a, b);
            if (ordered || !truth) expect(upstream(`t${a}`, `t${b}`)).toBe(truth);
          }
      }),
    );
  });

  it("finds a cycle exactly when there is no topological order, and each one is a cycle", () => {
    fc.assert(
      fc.property(graphs, (needs) => {
        const graph = taskGraph(pipeline(needs));
        const cycles = findCycles(graph);
        expect(cycles.length > 0).toBe(topologicalOrder(graph).length < needs.length);
        for (const cycle of cycles) {
          const ids = cycle.map((id) => Number(id.slice(1)));
          ids.forEach((id, i) => {
            const next = ids[(i + 1) % ids.length]!;
            expect(needs[id]).toContain(next);
          });
        }
      }),
    );
  });

  it("orders ready tasks as written", () => {
    const graph = taskGraph(pipeline([[3], [], [1], [], [0, 2]]));
    expect(topologicalOrder(graph).map((i) => graph.ids[i])).toEqual(["t1", "t2", "t3", "t0", "t4"]);
  });

  // Recursive walks overflowed the stack past about 4,000 tasks; sets of ancestors grew as n².
  it("walks a chain of 100,000 tasks, and a cycle through all of them", () => {
    const n = 100_000;
    const chain = Array.from({ length: n }, (_, i) => (i ? [i - 1] : []));
    const graph = taskGraph(pipeline(chain));
    expect(findCycles(graph)).toEqual([]);
    expect(topologicalOrder(graph)).toHaveLength(n);
    const upstream = upstreamOf(taskGraph(pipeline(chain.slice(0, 20_000))));
    expect(upstream("t19999", "t0")).toBe(true);
    expect(upstream("t0", "t19999")).toBe(false);

    chain[0] = [n - 1];
    const cycles = findCycles(taskGraph(pipeline(chain)));
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toHaveLength(n);
  });

  it("stops at the limit of cycles", () => {
    const needs = Array.from({ length: 50 }, (_, i) => (i < 49 ? [i + 1, 0] : [0]));
    expect(findCycles(taskGraph(pipeline(needs)), 5)).toHaveLength(5);
  });
});
