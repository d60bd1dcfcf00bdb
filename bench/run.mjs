// `npm run bench`: every benchmark in this folder, one after another, each printing its own figures.
import { readdirSync } from "node:fs";

for (const file of readdirSync(new URL(".", import.meta.url)).sort()) {
  if (file === "run.mjs" || !file.endsWith(".mjs")) continue;
  await import(new URL(file, import.meta.url).href);
  console.log();
}
