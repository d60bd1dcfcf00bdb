import { describe, expect, it } from "vitest";
import { isRunId, newRunId, runIdTime } from "./ids.js";

describe("newRunId", () => {
  it("makes UUIDv7 strings that carry their time", () => {
    const before = Date.now();
    const id = newRunId();
    expect(isRunId(id)).toBe(true);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const time = runIdTime(id)!.getTime();
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now() + 1);
  });

  it("is unique and strictly increasing, even within one millisecond", () => {
    const ids = Array.from({ length: 10_000 }, () => newRunId(1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
  });

  it("stays increasing when the clock goes back", () => {
    const a = newRunId(Date.now() + 60_000);
    const b = newRunId(Date.now());
    expect(b > a).toBe(true);
  });

  it("encodes the timestamp in its first 48 bits", () => {
    const ms = Date.now() + 10 * 86_400_000; // later than any id made so far in this file
    const id = newRunId(ms);
    expect(runIdTime(id)!.getTime()).toBe(ms);
    expect(runIdTime("not-an-id")).toBeUndefined();
  });
});
