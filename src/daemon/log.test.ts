import { closeSync, fstatSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DiagnosticsError } from "../config/diagnostics.js";
import { createDaemonLog, errorFields, isJournalStream, type LogSetup, logSetup } from "./log.js";

function written(setup: Partial<LogSetup>, lines: (log: ReturnType<typeof createDaemonLog>) => void): string {
  let out = "";
  lines(createDaemonLog({ least: "info", json: true, journal: false, ...setup }, (t) => (out += t)));
  return out;
}

describe("the daemon's log", () => {
  it("JSON lines carry the fields; below the least level nothing", () => {
    const out = written({}, (log) => {
      log("debug", "hidden");
      log("warn", "fetch: 429, retrying", { run_id: "r1", deployment: "d", task_id: "fetch", step: "s" });
    });
    expect(out.split("\n")).toHaveLength(2);
    expect(JSON.parse(out)).toEqual({
      ts: expect.stringMatching(/Z$/),
      level: "warn",
      msg: "fetch: 429, retrying",
      run_id: "r1",
      deployment: "d",
      task_id: "fetch",
      step: "s",
    });
  });

  it("under journald each line starts with its syslog priority, text lines too", () => {
    const json = written({ least: "debug", journal: true }, (log) => {
      for (const level of ["error", "warn", "info", "debug"] as const) log(level, level);
    });
    expect(json.split("\n").map((l) => l.slice(0, 3))).toEqual(["<3>", "<4>", "<6>", "<7>", ""]);
    const text = written({ json: false, journal: true }, (log) =>
      log("error", "reload failed\nsecond line", { run_id: "r1", diagnostics: ["a.yaml:1:2: error: x"] }),
    );
    expect(text).toMatch(
      /^<3>\d\d:\d\d:\d\d error reload failed\n<3>second line run_id=r1\n<3> {4}a\.yaml:1:2: error: x\n$/,
    );
  });

  it("never throws: fields JSON cannot hold are dropped, a failing write is ignored", () => {
    const out = written({}, (log) => log("info", "big", { n: 1n }));
    expect(JSON.parse(out)).toEqual({ ts: expect.any(String), level: "info", msg: "big" });
    const log = createDaemonLog({ least: "info", json: true, journal: false }, () => {
      throw new Error("EPIPE");
    });
    expect(() => log("error", "lost")).not.toThrow();
  });

  it("reads its settings leniently: a bad value is the default", () => {
    expect(logSetup({ TICKFLOW_LOG_LEVEL: "loud", TICKFLOW_LOG_FORMAT: "xml" }, true)).toEqual({
      least: "info",
      json: false,
      journal: false,
    });
    expect(logSetup({ TICKFLOW_LOG_LEVEL: "debug" }, false)).toMatchObject({ least: "debug", json: true });
    expect(logSetup({ TICKFLOW_LOG_FORMAT: "text" }, false).json).toBe(false);
  });

  it("JOURNAL_STREAM counts only when it names the stream itself", () => {
    const dir = mkdtempSync(join(tmpdir(), "tickflow-log-"));
    const fd = openSync(join(dir, "stream"), "w");
    try {
      const stat = fstatSync(fd, { bigint: true });
      expect(isJournalStream(`${stat.dev}:${stat.ino}`, fd)).toBe(true);
      expect(isJournalStream(`${stat.dev}:${stat.ino + 1n}`, fd)).toBe(false);
      expect(isJournalStream(undefined, fd)).toBe(false);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true });
    }
  });

  it("an error refusing files adds each problem at its position", () => {
    const err = new DiagnosticsError("t.yaml: 1 error", [
      { file: "t.yaml", line: 3, col: 5, severity: "error", message: "unknown key", path: "/x" },
    ]);
    expect(errorFields(err)).toEqual({ diagnostics: ["t.yaml:3:5: error: unknown key"] });
    expect(errorFields(new Error("x"))).toBeUndefined();
  });
});
