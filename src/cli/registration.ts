/** The deployments file, loaded and checked, as the records `deploy` and the daemon register. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { deploymentRecords, workPoolRecords } from "../daemon/deploy.js";
import { loadDeployments } from "../schedule/load.js";
import { builtinSteps } from "../steps/index.js";
import { printDiagnostics, ReportedFailure, requireFile } from "./output.js";

/** Loads and checks the deployments file; the records to register (problems printed, then a ReportedFailure). */
export async function registrationOf(file: string) {
  requireFile(file);
  const loaded = await loadDeployments(resolve(file), builtinSteps);
  const errors = loaded.diagnostics.filter((d) => d.severity === "error");
  if (loaded.diagnostics.length > 0) printDiagnostics(loaded.diagnostics, "text", process.stderr);
  if (!loaded.doc || errors.length > 0) throw new ReportedFailure();
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
    deployments: deploymentRecords(resolve(file), loaded.doc, pipelineName),
    pools: workPoolRecords(loaded.pools),
  };
}
