/**
 * The CLI's way to the control plane: chosen once per command (the database, or the daemon's API
 * when it holds the file or TICKFLOW_API_URL is set), its refusals printed as one line (exit 1).
 */
import { ControlError, type ControlPlane } from "../control/control-plane.js";
import { StoreError, storeIoError, unsupportedDatabaseUrl } from "../store/errors.js";
import { ReportedFailure, UsageError } from "./output.js";

export interface ControlFlags {
  /** `--db PATH` as given (undefined: the settings decide). */
  db?: string;
}

/** A `--db` URL (postgresql://...) is a usage error, before anything is created (the settings check TICKFLOW_DB). */
export function checkDbFlag(flag: string | undefined): void {
  const problem = flag === undefined ? undefined : unsupportedDatabaseUrl(flag);
  if (problem) throw new UsageError(`--db: ${problem}`);
}

/** Opens the control plane for one command, runs `work` over it, and closes it. */
export async function withControl<T>(
  flags: ControlFlags,
  access: "read" | "write",
  work: (control: ControlPlane) => Promise<T>,
): Promise<T> {
  const [{ openControlPlane }, { DaemonUnreachable }] = await Promise.all([
    import("../control/choose.js"),
    import("../control/http.js"),
  ]);
  const report = (err: unknown): never => {
    // A full disk or read-only folder, even when the control plane wrapped DuckDB's words (a 400).
    const io = storeIoError(err);
    if (io || err instanceof ControlError || err instanceof StoreError || err instanceof DaemonUnreachable) {
      process.stderr.write(`tickflow: ${(io ?? (err as Error)).message}\n`);
      throw new ReportedFailure();
    }
    throw err;
  };
  checkDbFlag(flags.db);
  let control: ControlPlane;
  try {
    control = await openControlPlane({
      ...(flags.db !== undefined ? { db: flags.db } : {}),
      write: access === "write",
    });
  } catch (err) {
    return report(err);
  }
  try {
    return await work(control);
  } catch (err) {
    return report(err);
  } finally {
    await control.close();
  }
}

/** Said after queuing a run in the database: it runs once a daemon does. */
export function waitsForDaemon(control: ControlPlane): string {
  return control.target.kind === "database" ? " (it runs when `tickflow daemon` runs)" : "";
}

/** `deployment pause|resume NAME`, `work-pool pause|resume NAME`: the change, then one line. */
export async function pauseCommand(
  what: "deployment" | "work pool",
  name: string,
  paused: boolean,
  options: ControlFlags & { json?: boolean },
  set: (control: ControlPlane) => Promise<{ name: string; paused: boolean }>,
): Promise<number> {
  return withControl(options, "write", async (control) => {
    const result = await set(control);
    process.stdout.write(
      options.json ? `${JSON.stringify(result)}\n` : `${what} ${name} ${paused ? "paused" : "resumed"}\n`,
    );
    return 0;
  });
}
