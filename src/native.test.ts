import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cacheRoot } from "./native.js";

describe("cacheRoot", () => {
  it("prefers an absolute XDG_CACHE_HOME", () => {
    expect(cacheRoot({ XDG_CACHE_HOME: "/x/cache" })).toBe("/x/cache/tickflow");
    expect(cacheRoot({ TICKFLOW_CACHE_DIR: "/var/cache/tickflow", XDG_CACHE_HOME: "/x/cache" })).toBe(
      "/var/cache/tickflow",
    );
  });

  it("ignores a relative XDG_CACHE_HOME, as the XDG spec says, and uses ~/.cache", () => {
    expect(cacheRoot({ XDG_CACHE_HOME: "rel" })).toBe(join(homedir(), ".cache", "tickflow"));
  });

  it("falls back to a per-user folder in the temp folder without a home", () => {
    const saved = process.env.HOME;
    process.env.HOME = "";
    try {
      expect(cacheRoot({})).toBe(join(tmpdir(), `tickflow-${process.getuid?.() ?? "user"}`));
    } finally {
      process.env.HOME = saved;
    }
  });
});
