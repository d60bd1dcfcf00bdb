import { createRequire } from "node:module";

/** Set by the single-executable build (esbuild `define`); from package.json otherwise. */
declare const TICKFLOW_BUNDLED_VERSION: string | undefined;

/** tickflow's version (package.json's), in the repo and inside the binary alike. */
export const VERSION: string =
  typeof TICKFLOW_BUNDLED_VERSION === "string"
    ? TICKFLOW_BUNDLED_VERSION
    : (createRequire(import.meta.url)("../package.json") as { version: string }).version;
