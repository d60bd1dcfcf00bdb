import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as sea from "node:sea";
import { fileURLToPath } from "node:url";

/**
 * The files tickflow ships besides its code: the JSON Schemas, the example pipelines and
 * deployment files, and the synthetic demo sample. Inside the single executable they are SEA
 * assets (`node:sea` `getAsset`, put there by `scripts/build-sea.mjs`); everywhere else they are
 * the repo's own files. Everything that reads them goes through this module.
 */

/** The folders (relative to the repo root) whose files are shipped, and which files of each. */
const SHIPPED: readonly { dir: string; keep: (name: string) => boolean; recurse: boolean }[] = [
  { dir: "schemas", keep: (n) => n.endsWith(".schema.json"), recurse: false },
  { dir: "pipelines", keep: (n) => n.endsWith(".yaml"), recurse: false },
  { dir: "pipelines/data", keep: () => true, recurse: false },
  { dir: "deployment", keep: () => true, recurse: true },
];

/** Asset key of the manifest the build writes (project files, version, native hash). */
export const MANIFEST_KEY = "manifest.json";

export interface Manifest {
  version: string;
  /** Project files, as paths relative to the repo root (`/`-separated), sorted. */
  files: string[];
  /**
   * The console's files (`dist/console/`, SEA keys `console/<path>`), as paths relative to that
   * folder, sorted. Kept apart from `files`: those are what `tickflow init` writes into a project.
   */
  console?: string[];
  /** The DuckDB native pair inside the binary: asset keys, sizes and a hash of their contents. */
  native?: { node: string; lib: string; libGzip: boolean; nodeSize: number; libSize: number; hash: string };
}

/** True inside the single executable. */
export function inBinary(): boolean {
  try {
    return sea.isSea();
  } catch {
    return false;
  }
}

/** The repo root, from this module's location (`dist/assets.js`, or the bundle `build/tickflow.cjs`). */
export function repoRoot(): string {
  return fileURLToPath(new URL("..", import.meta.url));
}

function walk(root: string, dir: string, keep: (name: string) => boolean, recurse: boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (recurse) out.push(...walk(root, rel, keep, recurse));
    } else if (entry.isFile() && keep(entry.name)) out.push(rel);
  }
  return out;
}

/** The shipped project files of a repo checkout (what the build packs and `init` writes). */
export function repoProjectFiles(root = repoRoot()): string[] {
  return SHIPPED.flatMap((s) => walk(root, s.dir, s.keep, s.recurse)).sort();
}

let manifest: Manifest | undefined;

/** The binary's manifest (only inside the binary). */
export function binaryManifest(): Manifest {
  manifest ??= JSON.parse(sea.getAsset(MANIFEST_KEY, "utf8")) as Manifest;
  return manifest;
}

/** The shipped project files: from the binary's manifest, or the repo's folders. */
export function projectFiles(): string[] {
  return inBinary() ? binaryManifest().files : repoProjectFiles();
}

/** The console's build (`npm run build:console`), relative to the repo root. */
export const CONSOLE_DIR = "dist/console";

/** SEA asset key of a console file (`path` relative to `CONSOLE_DIR`). */
export function consoleAssetKey(path: string): string {
  return `console/${path}`;
}

/** The console's files in a repo checkout (relative to `CONSOLE_DIR`, sorted); none before a build. */
export function repoConsoleFiles(root = repoRoot()): string[] {
  const dir = join(root, CONSOLE_DIR);
  if (!existsSync(dir)) return [];
  return walk(dir, ".", () => true, true)
    .map((p) => p.slice(2))
    .sort();
}

/** The bytes of a shipped file (`path` relative to the repo root, e.g. `schemas/pipeline.schema.json`). */
export function readAsset(path: string): Buffer {
  if (inBinary()) return Buffer.from(sea.getAsset(path));
  return readFileSync(join(repoRoot(), path));
}
