import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import { stepContext } from "../store/testing.js";
import { log } from "./log.js";

describe("log step", () => {
  it("writes the message to the run log at the level asked, and outputs it", async () => {
    const instance = await DuckDBInstance.create(":memory:");
    const db = await instance.connect();
    try {
      const ctx = stepContext(db);
      expect(
        await log.run!(ctx, log.params.parse({ message: "polygon-daily failed on 2024-01-02" })),
      ).toEqual({
        message: "polygon-daily failed on 2024-01-02",
      });
      await log.run!(ctx, log.params.parse({ message: "careful", level: "warn" }));
      expect(ctx.logs).toEqual([
        { level: "info", message: "polygon-daily failed on 2024-01-02" },
        { level: "warn", message: "careful" },
      ]);
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });
});
