import { spawn } from "node:child_process";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

export const REPO = resolve(import.meta.dirname, "../..");
const BIN = join(REPO, "bin", "tickflow.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real CLI (the compiled launcher) as a child process. `wrap`: a command that runs it
 * (e.g. `setpriv` with fewer capabilities).
 */
export function tickflow(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; wrap?: string[] } = {},
): Promise<CliResult> {
  const [command, ...rest] = [...(options.wrap ?? []), process.execPath, BIN, ...args];
  return new Promise((done, fail) => {
    const child = spawn(command!, rest, {
      cwd: options.cwd ?? REPO,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

/**
 * Runs the CLI in this process: `main()` of the compiled code with stdout and stderr captured and
 * the working folder and environment of the call, as `tickflow()` would give them. For verbs that
 * need no process of their own (validate, plan, schedule explain): a spawn costs 300 ms of start-up.
 * Calls must not overlap (tests of a file run one at a time).
 */
export async function tickflowHere(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const { main } = (await import(pathToFileURL(join(REPO, "dist/cli/main.js")).href)) as {
    main: (argv: string[]) => Promise<number>;
  };
  const saved = {
    cwd: process.cwd(),
    env: process.env,
    out: process.stdout.write,
    err: process.stderr.write,
  };
  let stdout = "";
  let stderr = "";
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  process.env = { ...process.env, NO_COLOR: "1", ...options.env };
  try {
    process.chdir(options.cwd ?? REPO);
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    process.chdir(saved.cwd);
    process.env = saved.env;
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
  }
}

/** A temporary copy of the example files (pipelines/ and deployment/), removed by `cleanup`. */
export async function copyExamples(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "tickflow-test-"));
  await cp(join(REPO, "pipelines"), join(dir, "pipelines"), { recursive: true });
  await cp(join(REPO, "deployment"), join(dir, "deployment"), { recursive: true });
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "tickflow-test-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** 1-based line and column of `needle` in `text` (plus `shift` characters into it). */
export function positionOf(text: string, needle: string, shift = 0): { line: number; col: number } {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`"${needle}" not found`);
  if (text.indexOf(needle, at + 1) >= 0) throw new Error(`"${needle}" is not unique`);
  const offset = at + shift;
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, col: offset - before.lastIndexOf("\n") };
}

/** Replaces one unique occurrence; fails loudly when the text is absent (the example changed). */
export function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`"${from}" must occur exactly once`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** Diagnostics lines (`file:line:col: severity: message`) parsed from text output. */
export function parseDiagnostics(
  stdout: string,
): { file: string; line: number; col: number; severity: string; message: string }[] {
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const m = /^(.*?):(\d+):(\d+): (error|warning): (.*)$/.exec(l);
      if (!m) throw new Error(`not a diagnostic line: ${l}`);
      return { file: m[1]!, line: Number(m[2]), col: Number(m[3]), severity: m[4]!, message: m[5]! };
    });
}
