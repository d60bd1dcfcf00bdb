import { DateTime } from "luxon";
import { formatDiagnostic, sortDiagnostics } from "../config/diagnostics.js";
import { parseInstant } from "../config/duration.js";
import { loadSettings } from "../config/settings.js";
import { type DeploymentExplanation, explainDeployment } from "../schedule/explain.js";
import { loadDeployments } from "../schedule/load.js";
import { builtinSteps } from "../steps/index.js";
import { dedupe, requireFile, UsageError } from "./output.js";

export interface ExplainOptions {
  next: string;
  /** The deployments file (default: the settings' TICKFLOW_CONFIG). */
  file?: string;
  from?: string;
  json?: boolean;
}

/** `tickflow schedule explain NAME`: the next fire times of a deployment's schedules. */
export async function scheduleExplainCommand(name: string, options: ExplainOptions): Promise<number> {
  const n = Number(options.next);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new UsageError(`--next must be a whole number from 1 to 10000, not "${options.next}"`);
  const from = options.from === undefined ? new Date() : parseInstant(options.from);
  if (from === undefined) {
    throw new UsageError(`--from must be an ISO instant such as 2026-03-06T12:00:00Z, not "${options.from}"`);
  }

  const file = options.file ?? loadSettings().TICKFLOW_CONFIG;
  requireFile(file);
  const loaded = await loadDeployments(file, builtinSteps);
  if (!loaded.doc) {
    for (const d of sortDiagnostics(dedupe(loaded.diagnostics)))
      if (d.severity === "error") process.stderr.write(`${formatDiagnostic(d)}\n`);
    process.stderr.write(`tickflow: ${file} is invalid; fix it first (tickflow validate)\n`);
    return 1;
  }
  const dep = loaded.doc.deployments.find((d) => d.name === name);
  if (!dep) {
    const names = loaded.doc.deployments.map((d) => d.name);
    process.stderr.write(
      `tickflow: no deployment "${name}" in ${file}; deployments: ${names.join(", ") || "(none)"}\n`,
    );
    return 1;
  }
  const explained = explainDeployment(dep, from, n);
  process.stdout.write(
    options.json ? `${JSON.stringify(explained, null, 2)}\n` : formatExplanation(explained),
  );
  return 0;
}

function localText(iso: string, zone: string): string {
  const t = DateTime.fromISO(iso, { zone, locale: "en-US" });
  return t.toFormat("ccc yyyy-LL-dd HH:mm:ss ZZZZ").replace(/:00 /, " ");
}

/** Skipped times printed per schedule (a calendar that rejects everything would list hundreds). */
const SKIPPED_SHOWN = 30;

export function formatExplanation(e: DeploymentExplanation): string {
  const out: string[] = [`deployment ${e.deployment}: next fire times after ${e.from.replace(".000Z", "Z")}`];
  if (e.paused) out.push("  (paused: the scheduler creates no runs until it is resumed)");
  if (!e.schedules.length) out.push("  no schedules: runs start on demand only");
  for (const s of e.schedules) {
    const where = `${s.timezone}${s.calendar ? `, ${s.calendar} sessions only` : ""}`;
    out.push("", `schedule ${s.index}: ${s.trigger} in ${where}  [${s.id}]`);
    if (!s.active) {
      out.push("  inactive: creates no runs");
      continue;
    }
    const rows = [
      ...s.fires.map((f) => ({
        at: f.at,
        skipped: false,
        text: `  ${localText(f.local, s.timezone).padEnd(30)}  ${f.at.replace(".000Z", "Z")}`,
        notes: f.notes,
      })),
      ...s.skipped.map((k) => ({
        at: k.at,
        skipped: true,
        text: `  ${localText(k.local, s.timezone).padEnd(30)}  skipped: ${k.reason}`,
        notes: [],
      })),
    ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    if (!s.fires.length) out.push("  never fires (searched far ahead)");
    else if (s.fires.length < e.next) out.push(`  only ${s.fires.length} more fire time(s) found`);
    if (rows.length) out.push(`  ${"local".padEnd(30)}  UTC`);
    let skipped = 0;
    for (const r of rows) {
      if (r.skipped && ++skipped > SKIPPED_SHOWN) continue;
      out.push(r.text);
      for (const note of r.notes) out.push(`      note: ${note}`);
    }
    if (skipped > SKIPPED_SHOWN)
      out.push(`  ... and ${skipped - SKIPPED_SHOWN} more skipped (--json lists them)`);
  }
  return `${out.join("\n")}\n`;
}
