import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "./open.js";
import { readOnlyChunks } from "./read-only-query.js";
import { tempStore } from "./testing.js";

let store: Store;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
});
afterEach(async () => {
  await cleanup();
});

async function collect(sql: string, limit: number, timeoutMs?: number) {
  const chunks = [];
  for await (const chunk of readOnlyChunks(store.db, sql, {
    limit,
    ...(timeoutMs ? { timeoutMs } : {}),
  })) {
    chunks.push(chunk);
  }
  return chunks;
}

describe("readOnlyChunks", () => {
  it("yields DuckDB's chunks up to the cap, the last saying whether rows were left out", async () => {
    const all = await collect("SELECT range AS n FROM range(5000)", 0);
    expect(all.map((c) => c.rows.length)).toEqual([2048, 2048, 904]);
    expect(all.every((c) => !c.truncated && c.columns[0]?.type === "BIGINT")).toBe(true);
    expect(all[2]!.rows.at(-1)).toEqual({ n: 4999 });

    const capped = await collect("SELECT * FROM range(5000)", 3000);
    expect(capped.map((c) => [c.rows.length, c.truncated])).toEqual([
      [2048, false],
      [952, true],
    ]);
    // Exactly at a chunk's end: the next chunk tells whether more rows exist.
    expect((await collect("SELECT * FROM range(5000)", 2048)).map((c) => c.truncated)).toEqual([false, true]);
    expect((await collect("SELECT * FROM range(2048)", 2048)).map((c) => c.truncated)).toEqual([false]);
    // No rows: one chunk with the columns.
    expect(await collect("SELECT 1 AS a WHERE false", 10)).toEqual([
      { columns: [{ name: "a", type: "INTEGER" }], rows: [], truncated: false, limit: 10 },
    ]);
  });

  it("ends its transaction when the reader stops early", async () => {
    for await (const chunk of readOnlyChunks(store.db, "SELECT * FROM range(100000)", { limit: 0 })) {
      expect(chunk.rows).toHaveLength(2048);
      break;
    }
    // A transaction left open would make this BEGIN fail.
    await store.db.run("BEGIN TRANSACTION");
    await store.db.run("ROLLBACK");
  });

  it("times DuckDB's work, not a slow reader's", async () => {
    let chunks = 0;
    for await (const _ of readOnlyChunks(store.db, "SELECT * FROM range(10000)", {
      limit: 0,
      timeoutMs: 200,
    })) {
      chunks++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(chunks).toBe(5);
    await expect(collect("SELECT count(*) FROM range(10000000000000)", 0, 200)).rejects.toMatchObject({
      name: "TimeoutError",
    });
  });
});
