/**
 * Where the console's files come from: the build folder `dist/console/` of a repo checkout (or
 * any folder, in tests), or the SEA assets inside the single executable. Only names made of
 * ordinary segments are ever looked up (`consolePath`), so no request reaches outside them.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import * as sea from "node:sea";
import { binaryManifest, CONSOLE_DIR, consoleAssetKey, inBinary, repoRoot } from "../assets.js";

export interface ConsoleFile {
  bytes: Buffer;
  /** Changes whenever the bytes do (cache key). */
  version: string;
}

export interface ConsoleFiles {
  /** Where the files are, for messages. */
  readonly origin: string;
  /** The file at `path` (from `consolePath`), or undefined. */
  read(path: string): ConsoleFile | undefined;
}

/** The app shell, served for every client route. */
export const SHELL = "index.html";

/** A segment: letters, digits, `_`, `-`, `.`, `~`, `@`, `+`, not starting with a dot (no `..`, no dotfiles). */
const SEGMENT = /^[A-Za-z0-9_~@+-][A-Za-z0-9._~@+-]*$/;

/**
 * The file a URL path names, relative to the console's root (`/assets/app-1a2b.js` ->
 * `assets/app-1a2b.js`), or undefined for a path that cannot name one: `..` or `.` segments (also
 * percent-encoded ones, which `c.req.path` has decoded), empty segments, backslashes, `%`, dotfiles.
 */
export function consolePath(urlPath: string): string | undefined {
  if (!urlPath.startsWith("/")) return undefined;
  const segments = urlPath.slice(1).split("/");
  return segments.every((s) => SEGMENT.test(s)) ? segments.join("/") : undefined;
}

/** The files of a folder, read when asked (a rebuild while the daemon runs is picked up). */
export function folderFiles(dir: string): ConsoleFiles {
  return {
    origin: dir,
    read(path) {
      const file = join(dir, path);
      try {
        const stat = statSync(file);
        if (!stat.isFile()) return undefined;
        return { bytes: readFileSync(file), version: `${stat.mtimeMs}-${stat.size}` };
      } catch {
        return undefined;
      }
    },
  };
}

/** The files packed into the single executable (the manifest's `console` list). */
export function binaryFiles(): ConsoleFiles {
  const names = new Set(binaryManifest().console ?? []);
  return {
    origin: "the executable",
    read(path) {
      if (!names.has(path)) return undefined;
      return { bytes: Buffer.from(sea.getAsset(consoleAssetKey(path))), version: "packed" };
    },
  };
}

/** The console this tickflow ships: packed in the executable, else the checkout's `dist/console/`. */
export function shippedConsoleFiles(): ConsoleFiles {
  return inBinary() ? binaryFiles() : folderFiles(join(repoRoot(), CONSOLE_DIR));
}
