import { dirname, resolve } from "node:path";
import { loadSettings } from "../config/settings.js";
import { executeRun, type RunResult } from "../engine/run.js";
import { builtinSteps } from "../steps/index.js";
import { newRunId, storeIoError } from "../store/index.js";
import { openAnyStoreForCli } from "./db.js";
import { useColour } from "./output.js";
import { type PlanOptions, resolvePlan } from "./plan.js";
import { createProgress, progressFormat } from "./progress.js";

export interface RunOptions extends Pick<PlanOptions, "param" | "date"> {
  json?: boolean;
  db: string;
}

/** Exit codes of a finished run: 0 completed, 130 cancelled (Ctrl-C; 143 for SIGTERM), 1 anything else. */
export function exitCodeOf(result: RunResult, signal?: NodeJS.Signals): number {
  if (result.state === "Completed") return 0;
  if (result.state === "Cancelled") return signal === "SIGTERM" ? 143 : 130;
  return 1;
}

/** `tickflow run FILE`: executes the pipeline in this process, with live progress. */
export async function runCommand(file: string, options: RunOptions): Promise<number> {
  const { plan, doc } = await resolvePlan(file, options);
  const store = await openAnyStoreForCli(options.db);
  const runId = newRunId();
  const progress = createProgress(plan.tasks.length, process.stderr, {
    format: progressFormat(process.stderr, loadSettings().TICKFLOW_LOG_FORMAT),
    colour: useColour(process.stderr),
    runId,
  });
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppedBy === undefined) {
      stoppedBy = signal;
      progress.note("cancelling (Ctrl-C again to quit at once)");
      controller.abort();
    } else process.exit(signal === "SIGTERM" ? 143 : 130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let result: RunResult;
  try {
    result = await executeRun({
      store,
      doc,
      plan,
      steps: new Map(builtinSteps.map((s) => [s.name, s])),
      baseDir: dirname(resolve(file)),
      file,
      env: process.env,
      signal: controller.signal,
      runId,
      onEvent: (e) => progress.onEvent(e),
    });
  } finally {
    progress.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await store.close();
  }
  if (options.json) {
    const record = {
      id: result.id,
      pipeline: result.pipeline,
      state: result.state,
      ...(result.error ? { error: result.error } : {}),
      tasks: result.tasks.map((t) => ({
        id: t.id,
        state: t.state,
        attempts: t.attempts,
        outputs: t.outputs,
        ...(t.error ? { error: t.error } : {}),
      })),
    };
    process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
  } else {
    const counts = new Map<string, number>();
    for (const t of result.tasks) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
    const summary = [...counts].map(([s, n]) => `${n} ${s.toLowerCase()}`).join(", ");
    process.stdout.write(
      `run ${result.id} ${result.state}: ${summary}${result.error ? `\n  ${result.error}` : ""}\n`,
    );
  }
  // A step that failed because the database could not be written (a full disk): said last, as the
  // one line any other command gives, whether or not the run's own bookkeeping still fitted.
  const fault = [result.error, ...result.tasks.map((t) => t.error)]
    .map((e) => (e ? storeIoError(new Error(e)) : undefined))
    .find((e) => e !== undefined);
  if (fault !== undefined && result.state !== "Completed")
    process.stderr.write(`tickflow: ${fault.message}\n`);
  if (stoppedBy !== undefined) {
    // Cancelled: the run is recorded; a step that ignored its cancel must not keep the process.
    setTimeout(() => process.exit(exitCodeOf(result, stoppedBy)), 500).unref();
  }
  return exitCodeOf(result, stoppedBy);
}
