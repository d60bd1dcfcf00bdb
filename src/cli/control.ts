/**
 * The CLI's way to the control plane: chosen once per command (the database, or the daemon's API
 * when it holds the file or TICKFLOW_API_URL is set), its refusals printed as one line (exit 1).
 */
import { ControlError, type ControlPlane } from "../control/control-plane.js";
import { StoreError } from "../store/errors.js";
import { ReportedFailure } from "./output.js";

export interface ControlFlags {
  /** `--db PATH` as given (undefined: the settings decide). */
  db?: string;
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
    if (err instanceof ControlError || err instanceof StoreError || err instanceof DaemonUnreachable) {
      process.stderr.write(`tickflow: ${err.message}\n`);
      throw new ReportedFailure();
    }
    throw err;
  };
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
