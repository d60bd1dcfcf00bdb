import { type Diagnostic, formatDiagnostic, sortDiagnostics } from "../config/diagnostics.js";

/** Colour only on a TTY and never with NO_COLOR (https://no-color.org). */
export function useColour(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR;
}

const RED = "\u001b[31m";
const YELLOW = "\u001b[33m";
const BOLD = "\u001b[1m";
const RESET = "\u001b[0m";

export function printDiagnostics(list: Diagnostic[], format: "text" | "json"): void {
  const sorted = sortDiagnostics(dedupe(list));
  if (format === "json") {
    process.stdout.write(`${JSON.stringify(sorted, null, 2)}\n`);
    return;
  }
  const colour = useColour(process.stdout);
  for (const d of sorted) {
    const line = formatDiagnostic(d);
    if (!colour) process.stdout.write(`${line}\n`);
    else {
      const tint = d.severity === "error" ? RED : YELLOW;
      process.stdout.write(
        `${line.replace(`: ${d.severity}: `, `: ${BOLD}${tint}${d.severity}${RESET}: `)}\n`,
      );
    }
  }
}

/** The same problem reached through two routes (a pipeline named by two deployments) is printed once. */
export function dedupe(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const key = `${d.file}|${d.line}|${d.col}|${d.severity}|${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function summary(files: number, list: Diagnostic[]): string {
  const unique = dedupe(list);
  const errors = unique.filter((d) => d.severity === "error").length;
  const warnings = unique.length - errors;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
  return `${plural(files, "file")} checked: ${plural(errors, "error")}, ${plural(warnings, "warning")}`;
}

/** A usage error: printed without a stack trace, exit code 2. */
export class UsageError extends Error {}

/** A failure already reported to the user: exit code 1 without more output. */
export class ReportedFailure extends Error {}
