import { once } from "node:events";
import { existsSync } from "node:fs";
import { type Diagnostic, formatDiagnostic, sortDiagnostics } from "../config/diagnostics.js";
import type { JsonValue } from "../store/values.js";

/** Colour (and a progress line redrawn in place) only on a TTY, never with NO_COLOR (https://no-color.org). */
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

/** A file a verb reads: a missing one is a usage error (exit 2), not a diagnostic about its contents. */
export function requireFile(path: string): void {
  if (!existsSync(path)) throw new UsageError(`no such file: ${path}`);
}

/** A failure already reported to the user: exit code 1 without more output. */
export class ReportedFailure extends Error {}

/** Rows as an aligned text table (header first); cells are printed as given. */
export function formatTable(header: string[], rows: string[][]): string {
  const line = tableLine(columnWidths(header, rows));
  let out = line(header);
  for (const row of rows) out += line(row);
  return out;
}

/** The widest cell of each column (a loop: spreading 200,000 rows into Math.max overflows the stack). */
function columnWidths(header: string[], rows: readonly string[][]): number[] {
  const widths = header.map((h) => h.length);
  for (const row of rows) {
    for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (row[i] ?? "").length);
  }
  return widths;
}

/** A row of a table as one line: cells padded to `widths`, the last one not. */
function tableLine(widths: readonly number[]): (cells: string[]) => string {
  return (cells) =>
    `${cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd()}\n`;
}

/** A CSV cell with RFC 4180 quoting. */
function csvCell(c: string): string {
  return /[",\n\r]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c;
}

/** Rows of a table whose widths the first this many rows set (later wider cells stick out). */
const TABLE_WINDOW = 1000;

/**
 * Query rows printed as they come, a chunk at a time, so that a million rows need neither the
 * memory for all of them nor a wait for the last: CSV and JSON row by row; a table aligned to the
 * widest cells of its first `TABLE_WINDOW` rows (held until then), since its widths must be known
 * before its first line. The JSON is the pretty array `JSON.stringify(rows, null, 2)` would give.
 */
export class RowPrinter {
  private header: string[] | undefined;
  private rows = 0;
  /** The table's first rows, until its widths are known. */
  private window: string[][] = [];
  private line: ((cells: string[]) => string) | undefined;

  constructor(
    private readonly format: "table" | "csv" | "json",
    private readonly stream: NodeJS.WritableStream = process.stdout,
  ) {}

  async write(columns: readonly string[], rows: readonly Record<string, JsonValue>[]): Promise<void> {
    let text = "";
    if (this.header === undefined) {
      this.header = [...columns];
      if (this.format === "csv") text += `${this.header.map(csvCell).join(",")}\n`;
    }
    const header = this.header;
    for (const row of rows) {
      if (this.format === "json") {
        text += `${this.rows === 0 ? "[\n" : ",\n"}  ${JSON.stringify(row, null, 2).replaceAll("\n", "\n  ")}`;
      } else {
        const cells = header.map((h) => cellText(row[h]));
        if (this.format === "csv") text += `${cells.map(csvCell).join(",")}\n`;
        else if (this.line) text += this.line(cells);
        else {
          this.window.push(cells);
          if (this.window.length === TABLE_WINDOW) text += this.flushWindow();
        }
      }
      this.rows++;
    }
    await this.out(text);
  }

  /** The end: the table's rows held so far, the JSON array's close. */
  async end(): Promise<void> {
    if (this.format === "json") await this.out(this.rows === 0 ? "[]\n" : "\n]\n");
    else if (this.format === "table" && !this.line) await this.out(this.flushWindow());
  }

  private flushWindow(): string {
    const header = this.header ?? [];
    this.line = tableLine(columnWidths(header, this.window));
    let text = this.line(header);
    for (const cells of this.window) text += this.line(cells);
    this.window = [];
    return text;
  }

  /** Waits when the stream asks to (a pipe on macOS, a socket): memory stays flat. */
  private async out(text: string): Promise<void> {
    if (text === "" || this.stream.write(text)) return;
    await once(this.stream, "drain");
  }
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
