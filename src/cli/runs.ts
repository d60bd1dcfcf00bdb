/** `tickflow runs ls|show|logs|cancel|retry`: run history and what can be done to a run. */
import { formatDuration, parseSince } from "../config/duration.js";
import type { ControlPlane, LogCursor } from "../control/control-plane.js";
import {
  isFinalRunState,
  type LogRow,
  RUN_STATES,
  type RunRow,
  type RunState,
  WAITING_RUN_STATES,
} from "../store/index.js";
import { type ControlFlags, waitsForDaemon, withControl } from "./control.js";
import { cellText, formatTable, UsageError } from "./output.js";

function when(d: Date | null | undefined): string {
  return d
    ? d
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z")
    : "";
}

function took(start: Date | null | undefined, end: Date | null | undefined): string {
  return start && end ? formatDuration(end.getTime() - start.getTime()) : "";
}

/** How long after it was due a run started, or has waited so far; null when it has no due time. */
export function lateness(run: RunRow, now: Date): number | null {
  if (!run.scheduled_at) return null;
  const waiting = (WAITING_RUN_STATES as readonly string[]).includes(run.state);
  const start = run.started_at ?? (waiting ? now : null);
  return start === null ? null : Math.max(0, start.getTime() - run.scheduled_at.getTime());
}

/** `--state`, in any case (`failed`), as the state word. */
function stateFlag(text: string): RunState {
  const state = RUN_STATES.find((s) => s.toLowerCase() === text.toLowerCase());
  if (!state) throw new UsageError(`--state expects one of ${RUN_STATES.join(", ")}, got "${text}"`);
  return state;
}

export async function runsListCommand(
  options: ControlFlags & {
    limit: string;
    pipeline?: string;
    deployment?: string;
    state?: string;
    since?: string;
    upcoming?: boolean;
    json?: boolean;
  },
): Promise<number> {
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new UsageError(`--limit expects a whole number from 1 to 1000, got "${options.limit}"`);
  const state = options.state === undefined ? undefined : stateFlag(options.state);
  const since = options.since === undefined ? undefined : parseSince(options.since, new Date());
  if (options.since !== undefined && since === undefined) {
    throw new UsageError(
      `--since expects a duration (2h, 7d), a date (YYYY-MM-DD) or an ISO 8601 instant, got "${options.since}"`,
    );
  }
  return withControl(options, "read", async (control) => {
    const runs = await control.listRuns({
      limit,
      ...(options.pipeline ? { pipeline: options.pipeline } : {}),
      ...(options.deployment ? { deployment: options.deployment } : {}),
      ...(state ? { state } : {}),
      ...(since ? { since } : {}),
      ...(options.upcoming ? { upcoming: true } : {}),
    });
    const now = new Date();
    if (options.json) {
      const rows = runs.map((r) => ({ ...r, late_ms: lateness(r, now) }));
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    } else {
      process.stdout.write(
        formatTable(
          ["ID", "PIPELINE", "DEPLOYMENT", "STATE", "DATE", "SCHEDULED", "STARTED", "LATE", "TOOK"],
          runs.map((r) => {
            const late = lateness(r, now);
            return [
              r.id,
              r.pipeline,
              r.deployment ?? "-",
              r.state,
              r.logical_date ?? "",
              when(r.scheduled_at),
              when(r.started_at),
              late === null ? "" : formatDuration(late),
              took(r.started_at, r.ended_at),
            ];
          }),
        ),
      );
    }
    return 0;
  });
}

export async function runShowCommand(
  id: string,
  options: ControlFlags & { json?: boolean },
): Promise<number> {
  return withControl(options, "read", async (control) => {
    const run = await control.getRun(id);
    const transitions = await control.runTransitions(run.id);
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ ...run, transitions }, null, 2)}\n`);
      return 0;
    }
    const history = transitions
      .filter((t) => t.task_id === null)
      .map((t) => `${t.state} ${when(t.ts).slice(11)}`)
      .join(" -> ");
    const lines = [
      `run        ${run.id}`,
      `pipeline   ${run.pipeline}${run.deployment ? `  (deployment ${run.deployment})` : ""}`,
      `state      ${run.state}${run.error ? `: ${run.error}` : ""}`,
      `history    ${history}`,
      `date       ${run.logical_date ?? ""}`,
      `started    ${when(run.started_at)}   ended ${when(run.ended_at)}   took ${took(run.started_at, run.ended_at)}`,
      `parameters ${JSON.stringify(run.parameters)}`,
      "",
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    process.stdout.write(
      formatTable(
        ["TASK", "STEP", "STATE", "ATTEMPTS", "TOOK", "OUTPUTS / ERROR"],
        run.tasks.map((t) => [
          t.task_id,
          t.step,
          t.state,
          String(t.attempts),
          took(t.started_at, t.ended_at),
          t.error ?? cellText(t.outputs),
        ]),
      ),
    );
    return 0;
  });
}

/** How often `runs logs --follow` asks for new lines. */
const FOLLOW_EVERY_MS = 500;

export async function runLogsCommand(
  id: string,
  options: ControlFlags & { json?: boolean; follow?: boolean },
): Promise<number> {
  return withControl(options, "read", async (control) => {
    const run = await control.getRun(id);
    const print = (lines: LogRow[]) => {
      if (options.json) {
        // With --follow, one JSON object a line (a stream); else one array.
        if (options.follow) for (const l of lines) process.stdout.write(`${JSON.stringify(l)}\n`);
        else process.stdout.write(`${JSON.stringify(lines, null, 2)}\n`);
      } else {
        for (const l of lines)
          process.stdout.write(`${when(l.ts)} ${l.level.padEnd(5)} ${l.task_id ?? "run"}: ${l.message}\n`);
      }
    };
    if (!options.follow) {
      print(await control.runLogs(run.id));
      return 0;
    }
    const state = await followLogs(control, run.id, print);
    process.stderr.write(`run ${run.id} ${state}\n`);
    return 0;
  });
}

/**
 * Prints a run's lines as they are written until the run has ended (every line is written before
 * the run's final state, so the lines read after seeing it are the last). Returns the final state.
 */
export async function followLogs(
  control: ControlPlane,
  runId: string,
  print: (lines: LogRow[]) => void,
  everyMs = FOLLOW_EVERY_MS,
): Promise<string> {
  let cursor: LogCursor | undefined;
  for (;;) {
    const { state } = await control.getRun(runId);
    const lines = await control.runLogs(runId, cursor ? { after: cursor } : {});
    if (lines.length > 0) {
      print(lines);
      const last = lines.at(-1)!;
      cursor = { ts: last.ts, seq: last.seq };
    }
    if (isFinalRunState(state)) return state;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export async function runsCancelCommand(
  id: string,
  options: ControlFlags & { json?: boolean },
): Promise<number> {
  return withControl(options, "write", async (control) => {
    const result = await control.cancelRun(id);
    process.stdout.write(
      options.json ? `${JSON.stringify(result)}\n` : `run ${result.id}: ${result.state}\n`,
    );
    return 0;
  });
}

export async function runsRetryCommand(
  id: string,
  options: ControlFlags & { json?: boolean },
): Promise<number> {
  return withControl(options, "write", async (control) => {
    const result = await control.retryRun(id);
    process.stdout.write(
      options.json
        ? `${JSON.stringify(result)}\n`
        : `run ${result.id} scheduled, a retry of ${result.retry_of}${waitsForDaemon(control)}\n`,
    );
    return 0;
  });
}
