/**
 * The daemon's log lines on stderr: JSON (one object a line, with the fields of the run or task it
 * concerns) or text, and under systemd the syslog priority prefix of sd-daemon(3) (`<3>` error,
 * `<4>` warning, `<6>` info, `<7>` debug) that journald strips and keeps as the entry's priority,
 * so `journalctl -p warning` finds warnings and errors.
 */
import { fstatSync } from "node:fs";
import type { z } from "zod";
import { type Diagnostic, DiagnosticsError, formatDiagnostic } from "../config/diagnostics.js";
import { settingsSchema } from "../config/settings.js";
import type { LogLevel } from "../pipeline/step-spec.js";
import type { DaemonLog } from "./daemon.js";

const LEVELS = ["debug", "info", "warn", "error"] as const satisfies readonly LogLevel[];
const PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };

/** Whether `level` is `least` or more severe. */
export function atLeast(level: LogLevel, least: LogLevel): boolean {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(least);
}

export interface LogSetup {
  /** TICKFLOW_LOG_LEVEL */
  least: LogLevel;
  json: boolean;
  /** Lines carry their syslog priority (stderr is the journal's stream). */
  journal: boolean;
}

/**
 * TICKFLOW_LOG_LEVEL and TICKFLOW_LOG_FORMAT, read leniently (a bad value is the default): the
 * strict reading of the settings may be the very error to log.
 */
export function logSetup(env: Readonly<Record<string, string | undefined>>, stderrIsTty: boolean): LogSetup {
  const { TICKFLOW_LOG_LEVEL: level, TICKFLOW_LOG_FORMAT: formats } = settingsSchema.shape;
  const format = lenient(formats, env.TICKFLOW_LOG_FORMAT);
  return {
    least: lenient(level, env.TICKFLOW_LOG_LEVEL),
    json: format === "json" || (format === "auto" && !stderrIsTty),
    journal: isJournalStream(env.JOURNAL_STREAM),
  };
}

/** The setting's value, or its default when unset or invalid. */
function lenient<T>(schema: z.ZodType<T>, value: string | undefined): T {
  const parsed = schema.safeParse(value || undefined);
  return parsed.success ? parsed.data : schema.parse(undefined);
}

/**
 * Whether stderr is the stream systemd connected to the journal: JOURNAL_STREAM names its device
 * and inode (systemd.exec(5)). A process that inherited the variable but writes elsewhere (a
 * terminal of a desktop session, a redirect to a file) gets plain lines.
 */
export function isJournalStream(named: string | undefined, fd = 2): boolean {
  if (!named) return false;
  try {
    const stat = fstatSync(fd, { bigint: true });
    return named === `${stat.dev}:${stat.ino}`;
  } catch {
    return false;
  }
}

/** The log written to `write` (stderr); never throws, whatever the fields hold. */
export function createDaemonLog(setup: LogSetup, write: (text: string) => void): DaemonLog {
  return (level, message, fields) => {
    if (!atLeast(level, setup.least)) return;
    const ts = new Date().toISOString();
    let lines: string[];
    if (setup.json) {
      let line: string;
      try {
        line = JSON.stringify({ ts, level, msg: message, ...fields });
      } catch {
        // A field JSON cannot hold (a BigInt, a cycle): the line without its fields.
        line = JSON.stringify({ ts, level, msg: message });
      }
      lines = [line];
    } else {
      lines = textLines(`${ts.slice(11, 19)} ${level.padEnd(5)} ${message}`, fields);
    }
    // Each line of a multi-line text entry is its own journal entry: each gets the prefix.
    const prefix = setup.journal ? `<${PRIORITY[level]}>` : "";
    try {
      write(`${lines.map((l) => prefix + l).join("\n")}\n`);
    } catch {
      // Logging never ends the daemon (a closed pipe is also handled by stderr's error listener).
    }
  };
}

/** Scalar fields as ` key=value` after the message; a list field, one indented line per item. */
function textLines(head: string, fields: object | undefined): string[] {
  let first = head;
  const more: string[] = [];
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (Array.isArray(value)) for (const item of value) more.push(`    ${String(item)}`);
    else if (value !== undefined) first += ` ${key}=${String(value)}`;
  }
  return [...first.split("\n"), ...more];
}

/** Problems as a log line's field: `file:line:col: severity: message` each. */
export function diagnosticFields(list: readonly Diagnostic[]): { diagnostics: string[] } {
  return { diagnostics: list.map(formatDiagnostic) };
}

/** What an error adds to its log line: the problems of files refused, each at its position. */
export function errorFields(err: unknown): { diagnostics: string[] } | undefined {
  return err instanceof DiagnosticsError ? diagnosticFields(err.diagnostics) : undefined;
}
