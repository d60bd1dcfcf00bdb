/**
 * Archive files: written by DuckDB into a staging folder beside the archive folder (outside it, so
 * a crash leaves nothing that a `archive/**\/*.parquet` glob would read), then each finished file is
 * moved into place under a name unique to the run, never replacing a file that is there.
 */
import { randomBytes } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, unlinkSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";

/** A file name stem unique to this run, rule and attempt: only [A-Za-z0-9_-]. */
export function archiveStem(runId: string, ruleIndex: number, attempt: number): string {
  const safe = runId.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
  return `${safe}-r${ruleIndex + 1}-a${attempt}-${randomBytes(3).toString("hex")}`;
}

/** Creates the archive folder (fails early when it cannot be) and returns a fresh staging folder path. */
export function prepareArchive(archive: string, stem: string): string {
  mkdirSync(archive, { recursive: true });
  const staging = join(dirname(archive), `.${basename(archive)}.${stem}.tmp`);
  rmSync(staging, { recursive: true, force: true });
  return staging;
}

/** Every file under `folder`, as paths relative to it. */
export function listFiles(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(folder, join(entry.parentPath, entry.name)))
    .sort();
}

/**
 * Moves every staged file to the same relative path under `archive`. Never replaces an existing
 * file: on any failure the files moved so far are removed again and the error is thrown.
 * @returns the archive files written (absolute paths).
 */
export function publishStaged(staging: string, archive: string): string[] {
  const moved: string[] = [];
  try {
    for (const file of listFiles(staging)) {
      const target = join(archive, file);
      mkdirSync(dirname(target), { recursive: true });
      moveNoReplace(join(staging, file), target);
      moved.push(target);
    }
    return moved;
  } catch (err) {
    removeFiles(moved);
    throw err;
  }
}

export function removeFiles(files: readonly string[]): void {
  for (const file of files) rmSync(file, { force: true });
}

function moveNoReplace(from: string, to: string): void {
  try {
    linkSync(from, to); // fails with EEXIST instead of replacing
    unlinkSync(from);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new Error(`archive file ${to} exists already: not replacing it`);
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EXDEV") throw err;
    // No hard links here: check, then rename.
    if (existsSync(to)) throw new Error(`archive file ${to} exists already: not replacing it`);
    renameSync(from, to);
  }
}
