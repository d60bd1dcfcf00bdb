import { describe, expect, it } from "vitest";
import { Readiness, type ReadinessNode } from "./readiness.js";

/** Takes `next()` while it gives one and claims each: what starts now, and what waits for its limit. */
function startAll(readiness: Readiness): { started: number[]; waiting: number[] } {
  const started: number[] = [];
  const waiting: number[] = [];
  for (let i = readiness.next(); i !== undefined; i = readiness.next())
    (readiness.claim(i) ? started : waiting).push(i);
  return { started, waiting };
}

const independent = (n: number, node: Omit<ReadinessNode, "needs"> = {}): ReadinessNode[] =>
  Array.from({ length: n }, () => ({ needs: [], ...node }));

describe("Readiness", () => {
  it("readies an instance once every instance it needs has ended, in plan order", () => {
    // 0 -> 1 -> 3, 2 alone, 3 also needs 2.
    const r = new Readiness([{ needs: [] }, { needs: [0] }, { needs: [] }, { needs: [1, 2] }], {
      maxParallel: 8,
    });
    expect(startAll(r).started).toEqual([0, 2]);
    r.end(2, "Completed");
    expect(r.next()).toBeUndefined();
    r.end(0, "Completed");
    expect(startAll(r).started).toEqual([1]);
    r.end(1, "Completed");
    expect(startAll(r).started).toEqual([3]);
    expect(r.done).toBe(false);
    r.end(3, "Completed");
    expect(r.done).toBe(true);
  });

  it("starts at most max_parallel at once, the next as soon as one ends", () => {
    const r = new Readiness(independent(5), { maxParallel: 2 });
    expect(startAll(r).started).toEqual([0, 1]);
    expect(r.inFlight).toBe(2);
    r.end(1, "Failed");
    expect(startAll(r).started).toEqual([2]);
    r.end(0, "Completed");
    r.end(2, "Completed");
    expect(startAll(r).started).toEqual([3, 4]);
  });

  it("does not count instances that end without starting (skipped) against max_parallel", () => {
    const r = new Readiness(independent(3), { maxParallel: 1 });
    expect(r.next()).toBe(0);
    r.end(0, "Skipped");
    expect(r.next()).toBe(1);
    expect(r.claim(1)).toBe(true);
    expect(r.next()).toBeUndefined();
  });

  it("holds a named limit to its slots, FIFO in plan order, a freed slot letting the next waiter in", () => {
    const nodes: ReadinessNode[] = [
      ...independent(4, { concurrency: "api" }),
      { needs: [] },
      { needs: [], concurrency: "db" },
      { needs: [], concurrency: "db" },
    ];
    const r = new Readiness(nodes, { maxParallel: 8, concurrencyLimits: { api: 2 } });
    // api has 2 slots; db is not listed: 1 slot.
    expect(startAll(r)).toEqual({ started: [0, 1, 4, 5], waiting: [2, 3, 6] });
    r.end(4, "Completed");
    expect(startAll(r).started).toEqual([]);
    r.end(1, "Completed");
    expect(startAll(r).started).toEqual([2]);
    r.end(5, "Failed");
    r.end(0, "Completed");
    expect(startAll(r).started).toEqual([6, 3]);
  });

  it("hands a freed slot to the waiter before any instance readied later for the same limit", () => {
    // 0 and 1 share a limit of 1; 2 (same limit) becomes ready when 0 ends.
    const r = new Readiness(
      [
        { needs: [], concurrency: "api" },
        { needs: [], concurrency: "api" },
        { needs: [0], concurrency: "api" },
      ],
      { maxParallel: 8 },
    );
    expect(startAll(r)).toEqual({ started: [0], waiting: [1] });
    r.end(0, "Completed");
    expect(startAll(r)).toEqual({ started: [1], waiting: [2] });
    r.end(1, "Completed");
    expect(startAll(r)).toEqual({ started: [2], waiting: [] });
  });

  it("passes a waiter's slot on when the waiter ends without starting (cancelled)", () => {
    const r = new Readiness(independent(3, { concurrency: "api" }), { maxParallel: 8 });
    expect(startAll(r)).toEqual({ started: [0], waiting: [1, 2] });
    r.end(0, "Completed");
    expect(r.next()).toBe(1);
    r.end(1, "Cancelled");
    expect(startAll(r).started).toEqual([2]);
  });

  it("keeps a waiter handed a slot within max_parallel, ahead of instances readied after it", () => {
    const r = new Readiness([...independent(2, { concurrency: "api" }), ...independent(2)], {
      maxParallel: 2,
    });
    expect(startAll(r)).toEqual({ started: [0, 2], waiting: [1] });
    r.end(0, "Completed");
    expect(startAll(r).started).toEqual([1]);
    expect(r.inFlight).toBe(2);
    r.end(2, "Completed");
    expect(startAll(r).started).toEqual([3]);
  });

  it("answers success() from the direct needs and failure() from everything upstream", () => {
    // 0 fails -> 1 skipped -> 2; 3 fails with continue_on_error -> 4; 5 needs 2 and 4.
    const r = new Readiness(
      [
        { needs: [] },
        { needs: [0] },
        { needs: [1] },
        { needs: [], continueOnError: true },
        { needs: [3] },
        { needs: [2, 4] },
      ],
      { maxParallel: 8 },
    );
    r.end(0, "Failed");
    expect(r.status(1)).toEqual({ success: false, failure: true });
    r.end(1, "Skipped");
    expect(r.status(2)).toEqual({ success: false, failure: true });
    r.end(3, "Failed");
    expect(r.status(4)).toEqual({ success: true, failure: false });
    r.end(2, "Skipped");
    r.end(4, "Cached");
    expect(r.status(5)).toEqual({ success: false, failure: true });
    expect(r.needsSucceeded(4)).toBe(true);
  });

  it("counts a skipped need as neither success nor failure", () => {
    const r = new Readiness([{ needs: [] }, { needs: [0] }], { maxParallel: 8 });
    r.end(0, "Skipped");
    expect(r.status(1)).toEqual({ success: false, failure: false });
  });

  it("works through many instances without keeping the taken ones", () => {
    const n = 10_000;
    const r = new Readiness(
      Array.from({ length: n }, (_, i) => ({ needs: i === 0 ? [] : [i - 1] })),
      { maxParallel: 1 },
    );
    const order: number[] = [];
    for (let i = r.next(); i !== undefined; i = r.next()) {
      order.push(i);
      r.end(i, "Skipped");
    }
    expect(order).toHaveLength(n);
    expect(order[n - 1]).toBe(n - 1);
    expect(r.done).toBe(true);
  });
});
