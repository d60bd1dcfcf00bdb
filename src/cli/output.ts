import { type Diagnostic, formatDiagnostic, sortDiagnostics } from "../config/diagnostics.js";

/** Colour only on a TTY and never with NO_COLOR (https://no-color.org). */
export function useColour(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR;
}

const RED = "\u001b[31m";
const YELLOW = "\u001b[33m";
const BOLD = "\u001b[1m";
const RESET = "\u001b[0m";

/**
 * Diagnostics as `file:line:col: severity: message` lines (or JSON). To stdout for `validate`, whose
 * output they are; other verbs pass stderr, so that their own output (`run --json`, `plan --format
 * json`) stays what it says it is.
 */
export function printDiagnostics(
  list: Diagnostic[],
  format: "text" | "json",
  stream: NodeJS.WriteStream = process.stdout,
): void {
  const sorted = sortDiagnostics(dedupe(list));
  if (format === "json") {
    stream.write(`${JSON.stringify(sorted, null, 2)}\n`);
    return;
  }
  const colour = useColour(stream);
  for (const d of sorted) {
    const line = formatDiagnostic(d);
    if (!colour) stream.write(`${line}\n`);
    else {
      const tint = d.severity === "error" ? RED : YELLOW;
      stream.write(`${line.replace(`: ${d.severity}: `, `: ${BOLD}${tint}${d.severity}${RESET}: `)}\n`);
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

/** Rows as an aligned text table (header first); cells are printed as given. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

/** CSV with RFC 4180 quoting. */
export function formatCsv(header: string[], rows: string[][]): string {
  const cell = (c: string) => (/[",\n\r]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c);
  return `${[header, ...rows].map((r) => r.map(cell).join(",")).join("\n")}\n`;
}

/** A value as a table cell: strings as they are, null as empty, the rest as JSON. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/**
 * Lines to a stream, written in batches: thousands of tasks each printing a line would otherwise
 * cost a synchronous write apiece when the stream is a pipe or a file.
 */
export class LineBuffer {
  private lines: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly intervalMs = 50,
  ) {}

  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length >= 512) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.lines.length) return;
    this.stream.write(`${this.lines.join("\n")}\n`);
    this.lines = [];
  }
}
