import { describe, expect, it } from "vitest";
import { instancesByTask, type OutputSource, tasksContext } from "./outputs.js";

function instance(
  task: string,
  outputs: Record<string, unknown>,
  extra: { item?: string; needs?: number[]; state?: string } = {},
): OutputSource {
  return {
    planned: extra.item === undefined ? { task } : { task, item: extra.item },
    needs: extra.needs ?? [],
    result: { outputs, state: extra.state ?? "Completed" },
  };
}

// 0 setup; 1-2 fetch[A], fetch[B]; 3-4 check[A], check[B] (paired with fetch); 5 report (needs all fetch).
const instances = [
  instance("setup", { rows: 1 }),
  instance("fetch", { rows: 10 }, { item: "A" }),
  instance("fetch", { rows: 20, extra: true }, { item: "B", state: "Failed" }),
  instance("check", {}, { item: "A", needs: [1] }),
  instance("check", {}, { item: "B", needs: [2] }),
  instance("report", {}, { needs: [1, 2] }),
];
const byTask = instancesByTask(instances);

describe("tasksContext", () => {
  it("gives a plain task's own outputs and state", () => {
    expect(tasksContext(instances[5]!, ["setup"], instances, byTask)).toEqual({
      setup: { outputs: { rows: 1 }, state: "Completed" },
    });
  });

  it("pairs a for_each instance with the instance of the same item", () => {
    expect(tasksContext(instances[4]!, ["fetch"], instances, byTask)).toEqual({
      fetch: { outputs: { rows: 20, extra: true }, state: "Failed" },
    });
  });

  it("gathers a for_each task's outputs into lists in item order otherwise, Failed if one failed", () => {
    expect(tasksContext(instances[5]!, ["fetch", "unknown"], instances, byTask)).toEqual({
      fetch: { outputs: { rows: [10, 20], extra: [null, true] }, state: "Failed" },
    });
  });

  it("groups instances by task in plan order", () => {
    expect(Object.fromEntries(byTask)).toEqual({
      setup: [0],
      fetch: [1, 2],
      check: [3, 4],
      report: [5],
    });
  });
});
