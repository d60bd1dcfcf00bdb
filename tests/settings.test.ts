import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadSettings, SettingsError, settingsSchema } from "../src/config/settings.js";
import { REPO } from "./helpers/cli.js";

describe("settings from the environment", () => {
  it("applies defaults to an empty environment", () => {
    const s = loadSettings({});
    expect(s.TICKFLOW_DB).toBe("./tickflow.duckdb");
    expect(s.TICKFLOW_LOG_LEVEL).toBe("info");
    expect(s.TICKFLOW_API_PORT).toBe(4200);
    expect(s.POLYGON_API_KEY).toBeUndefined();
  });

  it("parses and types the values, treating empty strings as unset", () => {
    const s = loadSettings({
      TICKFLOW_API_PORT: "8080",
      TICKFLOW_DB: "/var/lib/tickflow/x.duckdb",
      POLYGON_API_KEY: "",
    });
    expect(s.TICKFLOW_API_PORT).toBe(8080);
    expect(s.TICKFLOW_DB).toBe("/var/lib/tickflow/x.duckdb");
    expect(s.POLYGON_API_KEY).toBeUndefined();
  });

  it("names every bad variable in one error, without echoing secret values", () => {
    let error: unknown;
    try {
      loadSettings({
        TICKFLOW_API_PORT: "http",
        TICKFLOW_LOG_LEVEL: "loud",
        TICKFLOW_API_TOKEN: "short-secret",
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const message = (error as Error).message;
    expect(message).toMatch(/TICKFLOW_API_PORT/);
    expect(message).toMatch(/TICKFLOW_LOG_LEVEL/);
    expect(message).toMatch(/TICKFLOW_API_TOKEN: must be at least 16 characters/);
    expect(message).not.toMatch(/short-secret/);
  });

  it("are all listed in deployment/env.example, and nothing else is", async () => {
    const example = await readFile(join(REPO, "deployment/env.example"), "utf8");
    const listed = [...example.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(Object.keys(settingsSchema.shape).sort());
  });
});
