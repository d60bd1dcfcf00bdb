import { formatDuration } from "../config/duration.js";
import type { EngineEvent } from "../engine/run.js";
import { LineBuffer, useColour } from "./output.js";

export interface Progress {
  onEvent(event: EngineEvent): void;
  /** A word of the CLI's own (a cancel asked for), in the same format as the events. */
  note(message: string): void;
  stop(): void;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * How a run reports as it goes: "live" redraws a status line in place (a terminal, without
 * NO_COLOR); "lines" prints what matters as plain lines (CI, a pipe); "json" one JSON object a
 * line per engine event (TICKFLOW_LOG_FORMAT=json, for a log collector).
 */
export type ProgressFormat = "live" | "lines" | "json";

/** The format for `stream`: JSON when the log format says so; live only where colour is allowed. */
export function progressFormat(
  stream: NodeJS.WriteStream,
  logFormat: "auto" | "text" | "json",
): ProgressFormat {
  // Redrawing a line is as much a terminal effect as colour: NO_COLOR stops both.
  return logFormat === "json" ? "json" : useColour(stream) ? "live" : "lines";
}

/**
 * Progress of a run on stderr. Live: one status line redrawn in place (tasks done, running,
 * failed, elapsed), with task failures and log lines printed above it. Lines: log lines, retries,
 * failures and the end of each task, batched. JSON: every event with its time and the run's id,
 * batched too. A library bar would not interleave log lines this way, hence our own.
 */
export function createProgress(
  total: number,
  stream: NodeJS.WriteStream,
  options: { format: ProgressFormat; colour: boolean; runId: string },
): Progress {
  const started = Date.now();
  let done = 0;
  const active = new Set<string>();
  let failed = 0;
  const elapsed = () => formatDuration(Date.now() - started);
  const paint = (code: string, text: string) => (options.colour ? `\u001b[${code}m${text}\u001b[0m` : text);

  if (options.format === "json") {
    const out = new LineBuffer(stream);
    return {
      onEvent(e) {
        out.push(JSON.stringify({ ts: new Date().toISOString(), ...eventFields(e), run: options.runId }));
      },
      note(message) {
        out.push(
          JSON.stringify({ ts: new Date().toISOString(), level: "warn", msg: message, run: options.runId }),
        );
      },
      stop: () => out.flush(),
    };
  }

  if (options.format === "lines") {
    const out = new LineBuffer(stream);
    return {
      onEvent(e) {
        if (e.type === "log") out.push(`${e.taskId ?? "run"}: ${e.message}`);
        else if (e.type === "task" && (e.state === "Failed" || e.state === "Retrying"))
          out.push(`${e.id}: ${e.state}${e.error ? `: ${e.error}` : ""}`);
        else if (e.type === "task" && e.state !== "Running") out.push(`${e.id}: ${e.state}`);
      },
      note: (message) => out.push(message),
      stop: () => out.flush(),
    };
  }

  let frame = 0;
  let line = "";
  const status = () =>
    `${paint("36", SPINNER[frame++ % SPINNER.length]!)} ${done}/${total} done · ${active.size} running · ${failed ? paint("31", `${failed} failed`) : "0 failed"} · ${elapsed()}`;
  const draw = () => {
    line = status();
    stream.write(`\r\u001b[K${line}`);
  };
  const above = (text: string) => {
    line = status();
    stream.write(`\r\u001b[K${text}\n${line}`);
  };
  const timer = setInterval(draw, 100);
  timer.unref();
  draw();
  return {
    onEvent(e) {
      if (e.type === "log") above(`${paint("2", e.taskId ?? "run")} ${e.message}`);
      if (e.type !== "task") return;
      if (e.state === "Running") active.add(e.id);
      else if (e.state === "Retrying") {
        above(`${paint("33", "↻")} ${e.id} attempt ${e.attempt} failed: ${e.error ?? ""}`);
      } else {
        active.delete(e.id);
        done++;
        if (e.state === "Failed") {
          failed++;
          above(`${paint("31", "✗")} ${e.id}: ${e.error ?? "failed"}`);
        }
      }
    },
    note: (message) => above(message),
    stop() {
      clearInterval(timer);
      stream.write("\r\u001b[K");
    },
  };
}

/** An engine event as the fields of a JSON log line: `level` and `msg` as the daemon's lines have them. */
function eventFields(e: EngineEvent): Record<string, unknown> {
  const error = "error" in e && e.error ? { error: e.error } : {};
  switch (e.type) {
    case "log":
      return { level: e.level, msg: e.message, event: "log", task: e.taskId };
    case "task": {
      const level =
        e.state === "Failed" || e.state === "Crashed" ? "error" : e.state === "Retrying" ? "warn" : "info";
      const msg = `${e.id}: ${e.state}`;
      return { level, msg, event: "task", task: e.id, state: e.state, attempt: e.attempt, ...error };
    }
    case "run": {
      const level = e.state === "Failed" || e.state === "Crashed" ? "error" : "info";
      return { level, msg: `run ${e.state}`, event: "run", state: e.state, ...error };
    }
  }
}
