import { randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { createRequire } from "node:module";
import { homedir, constants as osConstants, tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import * as sea from "node:sea";
import { runInThisContext } from "node:vm";
import { gunzipSync } from "node:zlib";
import { binaryManifest, type Manifest } from "./assets.js";

/**
 * DuckDB's native addon inside the single executable. The binary carries `duckdb.node` and
 * `libduckdb.so` as SEA assets; a native module must be a file to be loaded, so the pair is written
 * once to a cache folder named by the version and a hash of its contents, then `process.dlopen`ed.
 * `duckdb.node` has RUNPATH `$ORIGIN`, so the dynamic loader finds `libduckdb.so` beside it.
 *
 * The build's esbuild plugin makes the bundled `@duckdb/node-bindings` export `lazyDuckDBBinding()`
 * instead of `require('@duckdb/node-bindings-linux-x64/duckdb.node')`: commands that never open a
 * database (`--version`, `validate`, `plan`, `steps`, `init`) import step modules that import
 * `@duckdb/node-api`, and must not extract or load 70 MB of native code for nothing.
 */

/**
 * The folder holding every extracted version: `$TICKFLOW_CACHE_DIR` (the systemd unit points it at
 * its CacheDirectory), `$XDG_CACHE_HOME/tickflow`, `~/.cache/tickflow`, or temp.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const own = env.TICKFLOW_CACHE_DIR;
  if (own && isAbsolute(own)) return own;
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, "tickflow");
  let home = "";
  try {
    home = homedir();
  } catch {
    // no home: fall through to the temp folder
  }
  if (home && isAbsolute(home)) return join(home, ".cache", "tickflow");
  const uid = typeof process.getuid === "function" ? process.getuid() : "user";
  return join(tmpdir(), `tickflow-${uid}`);
}

/** Creates `dir` (mode 0700) if needed and checks it is a real folder of ours, not a link. */
function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`cache folder ${dir} is not a folder`);
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  if (uid !== undefined && st.uid !== uid) {
    throw new Error(`cache folder ${dir} belongs to another user (uid ${st.uid}); set XDG_CACHE_HOME`);
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** Writes `bytes` to `dir/name` through a temporary name in the same folder and a rename. */
function writeAtomic(dir: string, name: string, bytes: Uint8Array, mode: number): void {
  const final = join(dir, name);
  const temp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(temp, "wx", mode);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(temp);
    throw err;
  }
  closeSync(fd);
  renameSync(temp, final);
}

function hasFile(path: string, size: number): boolean {
  try {
    const st = statSync(path);
    return st.isFile() && st.size === size;
  } catch {
    return false;
  }
}

/** Removes the other version folders under `root` (best effort: another process may do it too). */
function removeOldVersions(root: string, keep: string): void {
  try {
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      if (entry.name !== keep && entry.isDirectory() && /^\d+\.\d+\.\d+\S*-[0-9a-f]{16}$/.test(entry.name)) {
        rmSync(join(root, entry.name), { recursive: true, force: true });
      }
    }
  } catch {
    // not worth failing a command for
  }
}

/** Extracts the native pair (once) and returns the path of `duckdb.node`. */
export function extractNative(manifest: Manifest = binaryManifest(), root = cacheRoot()): string {
  const native = manifest.native;
  if (!native) throw new Error("this binary carries no DuckDB native module");
  const name = `${manifest.version}-${native.hash.slice(0, 16)}`;
  const dir = join(root, name);
  privateDir(root);
  privateDir(dir);
  const libPath = join(dir, "libduckdb.so");
  const nodePath = join(dir, "duckdb.node");
  // The library first: once duckdb.node is there, everything it needs is.
  if (!hasFile(libPath, native.libSize)) {
    const packed = new Uint8Array(sea.getAsset(native.lib));
    writeAtomic(dir, "libduckdb.so", native.libGzip ? gunzipSync(packed) : packed, 0o755);
  }
  if (!hasFile(nodePath, native.nodeSize)) {
    writeAtomic(dir, "duckdb.node", new Uint8Array(sea.getAsset(native.node)), 0o755);
  }
  removeOldVersions(root, name);
  return nodePath;
}

let binding: unknown;

/** The `@duckdb/node-bindings` module inside the binary. */
export function loadDuckDBBinding(): unknown {
  if (binding) return binding;
  if (!sea.isSea()) throw new Error("loadDuckDBBinding is for the single executable only");
  const path = extractNative();
  const module = { exports: {} as unknown };
  process.dlopen(module, path, osConstants.dlopen.RTLD_NOW);
  binding = module.exports;
  return binding;
}

/**
 * `@duckdb/node-bindings` inside the binary, loaded on first use. `@duckdb/node-api` reads some of
 * its constants when it is imported (`sizeof_bool`, the `ResultType` and `StatementType` enums):
 * `constants` holds every export that is not a function, read from the same `duckdb.node` by the
 * build, so those are answered without loading anything; so is `__esModule` (asked by TypeScript's
 * import helpers). Any function loads the real module. The proxy's target is a plain empty object:
 * V8's invariant checks look at the target, and must not load the module themselves.
 */
export function lazyDuckDBBinding(constants: Record<string, unknown>): object {
  const real = () => loadDuckDBBinding() as object;
  return new Proxy(
    {},
    {
      get: (_, key) => {
        if (key === "__esModule") return undefined;
        if (typeof key === "string" && Object.hasOwn(constants, key)) return constants[key];
        return Reflect.get(real(), key);
      },
      has: (_, key) => Reflect.has(real(), key),
      ownKeys: () => Reflect.ownKeys(real()),
      getOwnPropertyDescriptor: (_, key) => {
        const desc = Reflect.getOwnPropertyDescriptor(real(), key);
        return desc && { ...desc, configurable: true };
      },
    },
  );
}

/**
 * A CommonJS module packed as the SEA asset `key` (a bundle of its own, needing only Node's
 * built-ins), compiled on first use: a rarely used library kept out of the main script, whose size
 * every command's start pays for. The proxy lists no keys (esbuild's import helpers copy them at
 * import time: that must not compile the module); reading any property compiles it.
 */
export function lazyAsset(key: string): object {
  let loaded: Record<PropertyKey, unknown> | undefined;
  const real = () => {
    if (loaded === undefined) {
      const wrapper = runInThisContext(
        `(function (exports, require, module, __filename, __dirname) {${sea.getAsset(key, "utf8")}\n})`,
        { filename: key },
      ) as (e: object, r: NodeJS.Require, m: { exports: object }, f: string, d: string) => void;
      const module = { exports: {} };
      wrapper(module.exports, createRequire(join(tmpdir(), key)), module, key, tmpdir());
      loaded = module.exports as Record<PropertyKey, unknown>;
    }
    return loaded;
  };
  return new Proxy({}, { get: (_, property) => (property === "__esModule" ? undefined : real()[property]) });
}
