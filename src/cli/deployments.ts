/**
 * `tickflow deploy`, `deployments ls`, `deployment run|pause|resume`, `backfill`: through the
 * control plane (the database, or the daemon's API while it holds the file).
 */
import { loadSettings } from "../config/settings.js";
import type { DeployChange } from "../control/control-plane.js";
import { type ControlFlags, pauseCommand, waitsForDaemon, withControl } from "./control.js";
import { formatTable, UsageError } from "./output.js";
import { dateFlag, parseParamFlags } from "./plan.js";
import { registrationOf } from "./registration.js";

function describeChanges(changes: readonly DeployChange[]): string {
  if (changes.length === 0) return "no changes\n";
  return changes
    .map(
      (c) =>
        `${c.change.padEnd(7)} ${c.kind.replace("_", " ")} ${c.name}${c.detail ? ` (${c.detail})` : ""}\n`,
    )
    .join("");
}

/** `tickflow deploy [FILE]` */
export async function deployCommand(
  file: string | undefined,
  options: ControlFlags & { json?: boolean },
): Promise<number> {
  const registration = await registrationOf(file ?? loadSettings().TICKFLOW_CONFIG);
  return withControl(options, "write", async (control) => {
    const changes = await control.deploy(registration);
    process.stdout.write(
      options.json ? `${JSON.stringify({ changes }, null, 2)}\n` : describeChanges(changes),
    );
    return 0;
  });
}

/** `tickflow deployments ls` */
export async function deploymentsListCommand(options: ControlFlags & { json?: boolean }): Promise<number> {
  return withControl(options, "read", async (control) => {
    const rows = await control.listDeployments();
    if (options.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else {
      process.stdout.write(
        formatTable(
          ["NAME", "PIPELINE", "POOL/QUEUE", "PAUSED", "NEXT RUN"],
          rows.map((r) => [
            r.name,
            r.pipeline,
            r.work_pool ? `${r.work_pool}/${r.work_queue ?? "-"}` : "-",
            r.paused ? "yes" : "no",
            r.next_run ? r.next_run.toISOString() : "-",
          ]),
        ),
      );
    }
    return 0;
  });
}

/** `tickflow deployment run NAME [-p k=v]...`: checked against the pipeline's parameters, then queued. */
export async function deploymentRunCommand(
  name: string,
  options: ControlFlags & { param: string[]; json?: boolean },
): Promise<number> {
  const parametersText = parseParamFlags(options.param);
  return withControl(options, "write", async (control) => {
    const { id } = await control.runDeployment(name, { parameters_text: parametersText });
    process.stdout.write(
      options.json ? `${JSON.stringify({ id })}\n` : `run ${id} scheduled${waitsForDaemon(control)}\n`,
    );
    return 0;
  });
}

/** `tickflow deployment pause|resume NAME` */
export function deploymentPauseCommand(
  name: string,
  paused: boolean,
  options: ControlFlags & { json?: boolean },
): Promise<number> {
  return pauseCommand("deployment", name, paused, options, (control) =>
    control.setDeploymentPaused(name, paused),
  );
}

/** `tickflow backfill NAME --from D --to D [--missing]` */
export async function backfillCommand(
  name: string,
  options: ControlFlags & { from: string; to: string; missing?: boolean; json?: boolean },
): Promise<number> {
  dateFlag("--from", options.from);
  dateFlag("--to", options.to);
  if (options.to < options.from)
    throw new UsageError(`--to (${options.to}) is before --from (${options.from})`);
  return withControl(options, "write", async (control) => {
    const result = await control.backfill(name, {
      from: options.from,
      to: options.to,
      missing: options.missing === true,
    });
    if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      process.stdout.write(
        `${result.queued.length} run(s) queued for ${result.sessions} session(s) ${options.from}..${options.to}` +
          `${result.pending ? `, ${result.pending} already waiting` : ""}${result.complete ? `, ${result.complete} complete` : ""}` +
          `${waitsForDaemon(control)}\n`,
      );
    }
    return 0;
  });
}
