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
    const connections = new RunConnections(store);
    const a = await connections.take();
    let finishStep!: () => void;
    const stillRunning = new Promise<void>((resolve) => {
      finishStep = resolve;
    });
    connections.track(a, stillRunning);
    connections.giveBack(a);
    // `a` is busy: the next task gets another connection.
    const b = await connections.take();
    expect(b).not.toBe(a);
    connections.giveBack(b);
    expect(await connections.take()).toBe(b);
    connections.track(b, Promise.resolve());
    await new Promise((resolve) => setImmediate(resolve));
    connections.giveBack(b);

    connections.end();
    expect(await works(b)).toBe(false);
    expect(await works(a)).toBe(true);
    finishStep();
    await new Promise((resolve) => setImmediate(resolve));
    expect(await works(a)).toBe(false);
  });
});
