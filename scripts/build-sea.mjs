// `npm run build`: the single executable `build/tickflow` (Node's single executable application).
//  1. esbuild bundles the compiled CLI (dist/, from `npm run build:ts`) into one CommonJS file; a
//     plugin makes @duckdb/node-bindings take its native module from our loader (src/native.ts)
//     and the precompiled validators get bundled in.
//  2. The SEA config packs the bundle (with V8's code cache) and the assets: the schemas, the
//     example pipelines and deployment files, the demo sample, the console's build (dist/console,
//     required), and DuckDB's native pair (libduckdb.so gzipped) plus a manifest.
//  3. The blob is injected into a copy of this Node with postject. Never strip the result.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "build");
const work = join(out, "sea");
const started = Date.now();
const log = (msg) => console.log(`build-sea: ${msg} (${((Date.now() - started) / 1000).toFixed(1)} s)`);

if (process.platform !== "linux" || process.arch !== "x64") {
  throw new Error(`build-sea: Linux x64 only (this is ${process.platform}-${process.arch})`);
}
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const { repoProjectFiles, repoConsoleFiles, consoleAssetKey, CONSOLE_DIR, MANIFEST_KEY } = await import(
  new URL("../dist/assets.js", import.meta.url).href
);
// The console (`npm run build:console`) ships inside the binary: no build of it, no binary.
if (existsSync(join(root, "src", "console"))) {
  throw new Error("build-sea: src/console/ would compile into dist/console/, the console build's folder");
}
const consoleFiles = repoConsoleFiles(root);
if (!consoleFiles.includes("index.html")) {
  console.error(
    `build-sea: ${CONSOLE_DIR}/index.html is missing: build the console first (npm run build:console; npm run build runs it)`,
  );
  process.exit(1);
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

// 1. The bundle.
const require = createRequire(join(root, "package.json"));
const bindingsDir = dirname(require.resolve("@duckdb/node-bindings/package.json"));
const nativeDir = dirname(
  createRequire(join(bindingsDir, "package.json")).resolve("@duckdb/node-bindings-linux-x64/package.json"),
);
const loader = join(root, "dist", "native.js");
/** Modules kept out of the main script: module name -> asset key. */
const LAZY_MODULES = {
  nodemailer: "lib/nodemailer.cjs",
  // PostgreSQL's client: only commands on a postgresql:// database use it.
  pg: "lib/pg.cjs",
  "pg-copy-streams": "lib/pg-copy-streams.cjs",
};
const validatorsModule = join(root, "dist", "config", "validators.js");

// The bindings' exports that are not functions (sizeof_bool, the enums), from this very duckdb.node:
// the binary answers them without loading DuckDB (see lazyDuckDBBinding in src/native.ts).
const bindingConstants = {};
{
  const binding = require("@duckdb/node-bindings");
  for (const key of Object.getOwnPropertyNames(binding)) {
    if (typeof binding[key] !== "function") bindingConstants[key] = binding[key];
  }
  const roundTrip = JSON.parse(JSON.stringify(bindingConstants));
  for (const key of Object.keys(bindingConstants)) {
    if (JSON.stringify(roundTrip[key]) !== JSON.stringify(bindingConstants[key])) {
      throw new Error(`build-sea: the bindings' ${key} is not plain data`);
    }
  }
}

/** @type {esbuild.Plugin} */
const seaPlugin = {
  name: "tickflow-sea",
  setup(build) {
    // Rarely used libraries (nodemailer, about 240 KB; the PostgreSQL client) are not in the main
    // script, whose size the start of every command pays for (V8 reads it all; its code cache grows
    // with it), nor run at start: each is an asset of its own, compiled on first use (`lazyAsset`
    // in src/native.ts; imported by default, as the proxy lists no names).
    for (const [name, key] of Object.entries(LAZY_MODULES)) {
      build.onResolve({ filter: new RegExp(`^${name}$`) }, () => ({ path: name, namespace: "lazy-asset" }));
      build.onLoad({ filter: new RegExp(`^${name}$`), namespace: "lazy-asset" }, () => ({
        contents: `module.exports = require(${JSON.stringify(loader)}).lazyAsset(${JSON.stringify(key)});\n`,
        loader: "js",
        resolveDir: root,
      }));
    }
    // @duckdb/node-bindings' duckdb.js requires `@duckdb/node-bindings-<platform>/duckdb.node`: in the
    // binary the module comes from our loader, which extracts and dlopens the native pair on first use.
    build.onLoad({ filter: /[\\/]@duckdb[\\/]node-bindings[\\/]duckdb\.js$/ }, () => ({
      contents: `module.exports = require(${JSON.stringify(loader)}).lazyDuckDBBinding(${JSON.stringify(bindingConstants)});\n`,
      loader: "js",
    }));
    // The precompiled validators are imported through a variable specifier (so that the test
    // runner does not resolve them); bundle them instead.
    build.onLoad({ filter: /[\\/]dist[\\/]config[\\/]validators\.js$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      const pattern = /await import\(specifier\)/;
      if (!pattern.test(source))
        throw new Error(`build-sea: ${validatorsModule} changed: no import(specifier)`);
      return {
        contents: source.replace(pattern, 'require("../generated/validators.cjs")'),
        loader: "js",
      };
    });
  },
};

// The lazily loaded modules, each bundled alone as an asset (CommonJS, built-ins external).
for (const [name, key] of Object.entries(LAZY_MODULES)) {
  await esbuild.build({
    stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: root, loader: "js" },
    outfile: join(work, key),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: true,
    legalComments: "none",
    logLevel: "warning",
  });
}

const result = await esbuild.build({
  entryPoints: [join(root, "dist", "sea-entry.js")],
  outfile: join(out, "tickflow.cjs"),
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  minify: true,
  legalComments: "none",
  define: {
    TICKFLOW_BUNDLED_VERSION: JSON.stringify(pkg.version),
    "import.meta.url": "__tickflow_import_meta_url",
  },
  banner: { js: 'var __tickflow_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [seaPlugin],
  logLevel: "warning",
  metafile: true,
});
const bundled = Object.keys(result.metafile.inputs);
if (bundled.some((p) => p.endsWith(".node"))) throw new Error("build-sea: a .node file got into the bundle");
log(`bundled ${bundled.length} modules, ${(statSync(join(out, "tickflow.cjs")).size / 1e6).toFixed(1)} MB`);

// 2. Assets and the SEA blob.
const assets = {};
const files = repoProjectFiles(root);
for (const file of files) assets[file] = join(root, file);

const nodeBytes = readFileSync(join(nativeDir, "duckdb.node"));
const libBytes = readFileSync(join(nativeDir, "libduckdb.so"));
const libGz = gzipSync(libBytes, { level: 6 });
writeFileSync(join(work, "libduckdb.so.gz"), libGz);
writeFileSync(join(work, "duckdb.node"), nodeBytes);
const hash = createHash("sha256").update(nodeBytes).update(libBytes).digest("hex");
// The console's files under keys of their own: not in `files`, which `tickflow init` writes out.
for (const file of consoleFiles) assets[consoleAssetKey(file)] = join(root, CONSOLE_DIR, file);
const manifest = {
  version: pkg.version,
  files,
  console: consoleFiles,
  native: {
    node: "native/duckdb.node",
    lib: "native/libduckdb.so.gz",
    libGzip: true,
    nodeSize: nodeBytes.length,
    libSize: libBytes.length,
    hash,
  },
};
writeFileSync(join(work, "manifest.json"), JSON.stringify(manifest, null, 2));
assets[MANIFEST_KEY] = join(work, "manifest.json");
assets["native/duckdb.node"] = join(work, "duckdb.node");
for (const key of Object.values(LAZY_MODULES)) assets[key] = join(work, key);
assets["native/libduckdb.so.gz"] = join(work, "libduckdb.so.gz");
log(
  `${files.length} project files, ${consoleFiles.length} console files, native pair ${hash.slice(0, 16)} (libduckdb.so gzipped to ${(libGz.length / 1e6).toFixed(1)} MB)`,
);

const seaConfig = {
  main: join(out, "tickflow.cjs"),
  output: join(work, "sea-prep.blob"),
  disableExperimentalSEAWarning: true,
  useSnapshot: false,
  useCodeCache: true,
  assets,
};
writeFileSync(join(work, "sea-config.json"), JSON.stringify(seaConfig, null, 2));
execFileSync(process.execPath, ["--experimental-sea-config", join(work, "sea-config.json")], {
  stdio: "inherit",
  cwd: root,
});

// 3. Inject into a copy of this Node.
const binary = join(out, "tickflow");
rmSync(binary, { force: true });
copyFileSync(process.execPath, binary);
chmodSync(binary, 0o755);
ignoreNodeOptions(binary);
execFileSync(
  process.execPath,
  [
    join(dirname(require.resolve("postject/package.json")), "dist", "cli.js"),
    binary,
    "NODE_SEA_BLOB",
    seaConfig.output,
    "--sentinel-fuse",
    "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2",
  ],
  { stdio: "inherit" },
);
log(`wrote ${binary}, ${(statSync(binary).size / 1e6).toFixed(1)} MB`);

/**
 * Node 20's single executable still reads NODE_OPTIONS, before any of our code runs: a
 * `NODE_OPTIONS=--require=/nonexistent` in the user's shell would kill every command, and
 * `--max-old-space-size`, `--inspect` and friends would change what the binary does. Node has a
 * build flag for this (`configure --without-node-options`); a copy of the stock Node gets the same
 * effect by renaming the variable it reads: the one `NODE_OPTIONS` C string in `.rodata` (read by
 * `SafeGetenv("NODE_OPTIONS")` at start-up) becomes `TFSEA_NOOPTS`, a name nobody sets. The
 * build fails if that string is not there exactly once.
 */
function ignoreNodeOptions(file) {
  const bytes = readFileSync(file);
  // ELF64 little-endian: the section headers, and the name of each from .shstrtab.
  if (bytes.readUInt32BE(0) !== 0x7f454c46 || bytes[4] !== 2 || bytes[5] !== 1) {
    throw new Error("build-sea: not an ELF64 little-endian executable");
  }
  const shoff = Number(bytes.readBigUInt64LE(0x28));
  const shentsize = bytes.readUInt16LE(0x3a);
  const shnum = bytes.readUInt16LE(0x3c);
  const shstrndx = bytes.readUInt16LE(0x3e);
  const section = (i) => {
    const at = shoff + i * shentsize;
    return {
      name: bytes.readUInt32LE(at),
      offset: Number(bytes.readBigUInt64LE(at + 0x18)),
      size: Number(bytes.readBigUInt64LE(at + 0x20)),
    };
  };
  const names = section(shstrndx);
  let rodata;
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const start = names.offset + s.name;
    if (bytes.toString("latin1", start, bytes.indexOf(0, start)) === ".rodata") rodata = s;
  }
  if (!rodata) throw new Error("build-sea: no .rodata section");
  // A C string: NUL before and after. The embedded V8 snapshot (also in .rodata) holds the JS
  // builtins' own "NODE_OPTIONS" strings, length-prefixed (u32 12 before them): those stay.
  const needle = Buffer.from("\0NODE_OPTIONS\0", "latin1");
  const hits = [];
  for (let at = bytes.indexOf(needle, rodata.offset); at !== -1 && at < rodata.offset + rodata.size; ) {
    if (bytes.readUInt32LE(at - 3) !== 12) hits.push(at + 1);
    at = bytes.indexOf(needle, at + 1);
  }
  if (hits.length !== 1) {
    throw new Error(`build-sea: expected one NODE_OPTIONS string in .rodata, found ${hits.length}`);
  }
  bytes.write("TFSEA_NOOPTS", hits[0], "latin1");
  writeFileSync(file, bytes);
}
