/**
 * Helpers for tests that need a real database: a store in a fresh temporary folder, and a
 * StepContext over it. No mocks: these are the real DuckDB and the real steps.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { LogLevel, StepContext } from "../pipeline/step-spec.js";
import { openStore, type Store } from "./open.js";
import { stepSinks } from "./sinks.js";

/** A fresh temporary folder; `cleanup` removes it. */
export function tempDir(prefix = "tickflow-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A store in a fresh temporary folder; `cleanup` closes it and removes the folder. */
export async function tempStore(name = "test.duckdb"): Promise<{
  store: Store;
  dir: string;
  path: string;
  cleanup: () => Promise<void>;
}> {
  const { dir, cleanup } = tempDir();
  const path = join(dir, name);
  const store = await openStore(path);
  return {
    store,
    dir,
    path,
    cleanup: async () => {
      await store.close();
      cleanup();
    },
  };
}

/** A StepContext over `db` whose log lines are collected in `logs`. */
export function stepContext(
  db: DuckDBConnection,
  overrides: Partial<Omit<StepContext, "log">> = {},
): StepContext & { logs: { level: LogLevel; message: string }[] } {
  const logs: { level: LogLevel; message: string }[] = [];
  return {
    runId: "run-test",
    taskId: "task",
    runDate: "2024-01-02",
    attempt: 1,
    signal: new AbortController().signal,
    db,
    sinks: stepSinks(db),
    baseDir: process.cwd(),
    env: {},
    ...overrides,
    logs,
    log(level, message) {
      logs.push({ level, message });
    },
  };
}
