// Entry point of the single executable (`scripts/build-sea.mjs` bundles it to CommonJS, which has
// no top-level await; the npm launcher is `bin/tickflow.js`).
import { main } from "./cli/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tickflow: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
