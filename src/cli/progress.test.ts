import { afterEach, describe, expect, it } from "vitest";
import { createProgress, progressFormat } from "./progress.js";

const saved = process.env.NO_COLOR;
afterEach(() => {
  if (saved === undefined) delete process.env.NO_COLOR;
  else process.env.NO_COLOR = saved;
});

/** A stream that keeps what is written, a terminal or not. */
function stream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = {
    isTTY,
    text: "",
    write(chunk: string) {
      s.text += chunk;
      return true;
    },
  };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe("progress", () => {
  it("redraws in place only on a terminal without NO_COLOR; JSON when the log format says so", () => {
    delete process.env.NO_COLOR;
    expect(progressFormat(stream(true), "auto")).toBe("live");
    expect(progressFormat(stream(false), "auto")).toBe("lines");
    expect(progressFormat(stream(true), "json")).toBe("json");
    process.env.NO_COLOR = "1";
    expect(progressFormat(stream(true), "auto")).toBe("lines");
    expect(progressFormat(stream(true), "text")).toBe("lines");
  });

  it("JSON: one object a line per event, with its time and the run's id", () => {
    const out = stream(false);
    const progress = createProgress(2, out, { format: "json", colour: false, runId: "r1" });
    progress.onEvent({ type: "run", id: "r1", state: "Running" });
    progress.onEvent({
      type: "task",
      id: "fetch[AAPL]",
      step: "log",
      state: "Retrying",
      attempt: 1,
      error: "503",
    });
    progress.onEvent({ type: "log", taskId: "fetch[AAPL]", level: "info", message: "120 bars" });
    progress.note("cancelling");
    progress.stop();
    const lines = out.text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      {
        ts: expect.any(String),
        level: "info",
        msg: "run Running",
        event: "run",
        state: "Running",
        run: "r1",
      },
      {
        ts: expect.any(String),
        level: "warn",
        msg: "fetch[AAPL]: Retrying",
        event: "task",
        task: "fetch[AAPL]",
        state: "Retrying",
        attempt: 1,
        error: "503",
        run: "r1",
      },
      {
        ts: expect.any(String),
        level: "info",
        msg: "120 bars",
        event: "log",
        task: "fetch[AAPL]",
        run: "r1",
      },
      { ts: expect.any(String), level: "warn", msg: "cancelling", run: "r1" },
    ]);
    expect(Number.isNaN(Date.parse(lines[0].ts))).toBe(false);
  });
});
