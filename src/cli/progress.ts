import { formatDuration } from "../config/duration.js";
import type { EngineEvent } from "../engine/run.js";
import { LineBuffer } from "./output.js";

export interface Progress {
  onEvent(event: EngineEvent): void;
  stop(): void;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Live progress of a run on stderr. On a terminal: one status line redrawn in place (tasks done,
 * running, failed, elapsed), with task failures and log lines printed above it. Elsewhere (CI,
 * journald, a pipe): plain lines for what matters (log lines, retries, failures, the end of each
 * task), batched. A library bar would not interleave log lines this way, hence our own.
 */
export function createProgress(
  total: number,
  stream: NodeJS.WriteStream,
  options: { tty: boolean; colour: boolean },
): Progress {
  const started = Date.now();
  let done = 0;
  const active = new Set<string>();
  let failed = 0;
  const elapsed = () => formatDuration(Date.now() - started);
  const paint = (code: string, text: string) => (options.colour ? `\u001b[${code}m${text}\u001b[0m` : text);

  if (!options.tty) {
    const out = new LineBuffer(stream);
    return {
      onEvent(e) {
        if (e.type === "log") out.push(`${e.taskId ?? "run"}: ${e.message}`);
        else if (e.type === "task" && (e.state === "Failed" || e.state === "Retrying"))
          out.push(`${e.id}: ${e.state}${e.error ? `: ${e.error}` : ""}`);
        else if (e.type === "task" && e.state !== "Running") out.push(`${e.id}: ${e.state}`);
      },
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
    stop() {
      clearInterval(timer);
      stream.write("\r\u001b[K");
    },
  };
}
