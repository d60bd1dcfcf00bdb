import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../store/index.js";
import { tempStore } from "../store/testing.js";
import { RunConnections } from "./connections.js";

let store: Store;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
});
afterEach(async () => {
  await cleanup();
});

const works = (db: Awaited<ReturnType<Store["connect"]>>) =>
  db.run("SELECT 1").then(
    () => true,
    () => false,
  );

describe("RunConnections", () => {
  it("reuses a connection only once its step's work has settled, and closes them all at the end", async () => {
    const run = new AbortController();
    const connections = new RunConnections(store, run.signal);
    const a = await connections.take();
    let finishStep!: () => void;
    const stillRunning = new Promise<void>((resolve) => {
      finishStep = resolve;
    });
    connections.track(a, stillRunning, run.signal);
    connections.giveBack(a);
    // `a` is busy: the next task gets another connection.
    const b = await connections.take();
    expect(b).not.toBe(a);
    connections.giveBack(b);
    expect(await connections.take()).toBe(b);
    connections.track(b, Promise.resolve(), run.signal);
    await new Promise((resolve) => setImmediate(resolve));
    connections.giveBack(b);

    connections.end();
    expect(await works(b)).toBe(false);
    expect(await works(a)).toBe(true);
    finishStep();
    await new Promise((resolve) => setImmediate(resolve));
    expect(await works(a)).toBe(false);
  });

  it("interrupts the statements of aborted work until it settles: the run's cancel, or a task's own timeout", async () => {
    for (const whose of ["run", "task"] as const) {
      const run = new AbortController();
      const task = new AbortController();
      const connections = new RunConnections(store, run.signal);
      const db = await connections.take();
      const query = db.run("SELECT count(*) FROM range(10000000000000)");
      connections.track(db, query, whose === "run" ? run.signal : AbortSignal.any([run.signal, task.signal]));
      const started = Date.now();
      (whose === "run" ? run : task).abort();
      await expect(query).rejects.toThrow(/interrupt/i);
      expect(Date.now() - started).toBeLessThan(2000);
      connections.giveBack(db);
      connections.end();
    }
  });
});
