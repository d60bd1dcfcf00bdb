// Prints the console's bundle sizes from dist/console: the first load (what index.html loads: the
// entry chunk, its static imports and the CSS) and every lazy chunk, raw and gzipped.
// `node ui/size.mjs [--json]`; exits 1 when the first load is over the 250 KB gzip budget.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dir = new URL("../dist/console/", import.meta.url).pathname;
const BUDGET = 250 * 1024;
const html = readFileSync(join(dir, "index.html"), "utf8");
const size = (file) => {
  const bytes = readFileSync(join(dir, file));
  return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
};
const first = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
const all = readdirSync(join(dir, "assets"))
  .filter((f) => /\.(js|css)$/.test(f))
  .map((f) => `assets/${f}`);
const firstSizes = first.map(size);
const lazy = all.filter((f) => !first.includes(f)).map(size);
const total = firstSizes.reduce((a, s) => ({ raw: a.raw + s.raw, gzip: a.gzip + s.gzip }), {
  raw: 0,
  gzip: 0,
});
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ first_load: { ...total, files: firstSizes }, lazy, budget_gzip: BUDGET }));
} else {
  for (const s of firstSizes)
    console.log(`first load  ${s.file.padEnd(44)} ${kb(s.raw).padStart(10)}  gzip ${kb(s.gzip)}`);
  for (const s of lazy)
    console.log(`lazy        ${s.file.padEnd(44)} ${kb(s.raw).padStart(10)}  gzip ${kb(s.gzip)}`);
  console.log(`console first load: ${kb(total.raw)}, gzip ${kb(total.gzip)} (budget ${kb(BUDGET)} gzip)`);
}
if (total.gzip > BUDGET) process.exit(1);
