import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { projectFiles, readAsset } from "../assets.js";

/**
 * `tickflow init [DIR]`: a starter project in DIR (default `.`): the example pipelines (with the
 * offline demo and its synthetic sample in `pipelines/data/`), `deployment/tickflow.yaml` with its
 * work pools and `env.example`, and the JSON Schemas in `schemas/`, which every file's
 * `# yaml-language-server: $schema=` line points at. From the repo's files, or from the binary's
 * assets. Existing files are never overwritten without `--force`.
 */
export async function initCommand(dir: string, options: { force?: boolean }): Promise<number> {
  const root = resolve(dir);
  const files = projectFiles();
  const existing = files.filter((file) => existsSync(join(root, file)));
  if (existing.length > 0 && !options.force) {
    const shown = existing.slice(0, 5).join(", ") + (existing.length > 5 ? ", ..." : "");
    process.stderr.write(
      `tickflow: init: ${existing.length} of the starter's files exist in ${root} (${shown}); nothing written (use --force to overwrite them)\n`,
    );
    return 1;
  }
  for (const file of files) {
    const target = join(root, file);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, readAsset(file));
  }
  const rel = relative(process.cwd(), root);
  const where = rel === "" ? "." : rel.startsWith("..") ? root : rel;
  const cd = where === "." ? "" : `cd ${where} && `;
  process.stdout.write(
    `wrote ${files.length} files to ${root}${existing.length > 0 ? ` (${existing.length} overwritten)` : ""}:\n` +
      files.map((f) => `  ${f}\n`).join("") +
      `\nnext:\n  ${cd}tickflow validate pipelines deployment\n  tickflow run pipelines/demo.yaml    # offline, into ./tickflow.duckdb\n`,
  );
  return 0;
}
