import { type RunHistory, withRunHistory } from "./history.js";
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
  if (!start || !end) return "";
  const ms = end.getTime() - start.getTime();
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export async function runsListCommand(options: {
  db: string;
  limit: string;
  pipeline?: string;
  state?: string;
  json?: boolean;
}): Promise<number> {
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit expects a positive integer, got "${options.limit}"`);
  return withRunHistory(options.db, async (history) => {
    const runs = await history.listRuns({
      limit,
      ...(options.pipeline ? { pipeline: options.pipeline } : {}),
      ...(options.state ? { state: options.state } : {}),
    });
    if (options.json) process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
    else {
      process.stdout.write(
        formatTable(
          ["ID", "PIPELINE", "STATE", "DATE", "STARTED", "TOOK"],
          runs.map((r) => [
            r.id,
            r.pipeline,
            r.state,
            r.logical_date ?? "",
            when(r.started_at),
            took(r.started_at, r.ended_at),
          ]),
        ),
      );
    }
    return 0;
  });
}

export async function runShowCommand(id: string, options: { db: string; json?: boolean }): Promise<number> {
  return withRunHistory(options.db, async (history) => {
    const run = await findRunOrFail(history, id);
    const tasks = await history.taskRunsOf(run.id);
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ ...run, tasks }, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `run        ${run.id}`,
      `pipeline   ${run.pipeline}${run.deployment ? `  (deployment ${run.deployment})` : ""}`,
      `state      ${run.state}${run.error ? `: ${run.error}` : ""}`,
      `date       ${run.logical_date ?? ""}`,
      `started    ${when(run.started_at)}   ended ${when(run.ended_at)}   took ${took(run.started_at, run.ended_at)}`,
      `parameters ${JSON.stringify(run.parameters)}`,
      "",
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    process.stdout.write(
      formatTable(
        ["TASK", "STEP", "STATE", "ATTEMPTS", "TOOK", "OUTPUTS / ERROR"],
        tasks.map((t) => [
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

export async function runLogsCommand(id: string, options: { db: string; json?: boolean }): Promise<number> {
  return withRunHistory(options.db, async (history) => {
    const run = await findRunOrFail(history, id);
    const logs = await history.logsOf(run.id);
    if (options.json) process.stdout.write(`${JSON.stringify(logs, null, 2)}\n`);
    else {
      for (const l of logs)
        process.stdout.write(`${when(l.ts)} ${l.level.padEnd(5)} ${l.task_id ?? "run"}: ${l.message}\n`);
    }
    return 0;
  });
}

async function findRunOrFail(history: RunHistory, id: string) {
  let run: Awaited<ReturnType<RunHistory["findRun"]>>;
  try {
    run = await history.findRun(id);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!run) throw new UsageError(`no run with id "${id}" (see: tickflow runs ls)`);
  return run;
}
