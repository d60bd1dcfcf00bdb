/** The deployments file, loaded and checked, as the records `deploy` and the daemon register. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Diagnostic } from "../config/diagnostics.js";
import {
  type DeploymentRecord,
  deploymentRecords,
  type WorkPoolRecord,
  workPoolRecords,
} from "../daemon/deploy.js";
import { notifyRecordsOf } from "../notify/config.js";
import type { DeploymentsDocument } from "../schedule/deployments-file.js";
import { loadDeployments } from "../schedule/load.js";
import type { WorkPoolDocument } from "../schedule/work-pool-file.js";
import { builtinSteps } from "../steps/index.js";
import type { NotifyRecords } from "../store/notify-config.js";
import { printDiagnostics, ReportedFailure, requireFile } from "./output.js";

export interface Registration {
  deployments: DeploymentRecord[];
  pools: WorkPoolRecord[];
  notify: NotifyRecords;
}

/** Loads and checks the deployments file; the records to register (problems printed, then a ReportedFailure). */
export async function registrationOf(file: string): Promise<Registration> {
  requireFile(file);
  const { diagnostics, registration } = await loadRegistration(file);
  if (diagnostics.length > 0) printDiagnostics(diagnostics, "text", process.stderr);
  if (!registration) throw new ReportedFailure();
  return registration;
}

/** The file's problems, and its records when it has no errors (the daemon logs the problems itself). */
export async function loadRegistration(
  file: string,
): Promise<{ diagnostics: Diagnostic[]; registration?: Registration }> {
  const loaded = await loadDeployments(resolve(file), builtinSteps);
  const { diagnostics } = loaded;
  if (!loaded.doc || diagnostics.some((d) => d.severity === "error")) return { diagnostics };
  return { diagnostics, registration: recordsOf(file, loaded.doc, loaded.pools) };
}

function recordsOf(
  file: string,
  doc: DeploymentsDocument,
  pools: ReadonlyMap<string, WorkPoolDocument>,
): Registration {
  const names = new Map<string, string>();
  const pipelineName = (path: string) => {
    let name = names.get(path);
    if (name === undefined) {
      // Checked by the loader already: only its name is needed here.
      const match = /^name:\s*["']?([^"'\s#]+)/m.exec(readFileSync(path, "utf8"));
      name = match?.[1] ?? path;
      names.set(path, name);
    }
    return name;
  };
  return {
    deployments: deploymentRecords(resolve(file), doc, pipelineName),
    pools: workPoolRecords(pools),
    notify: notifyRecordsOf(doc),
  };
}
