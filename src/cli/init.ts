import { existsSync } from "node:fs";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { projectFiles, readAsset } from "../assets.js";

/**
 * `tickflow init [DIR]`: a starter project in DIR (default `.`): the example pipelines (with the
 * offline demo and its synthetic sample in `pipelines/data/`), `deployment/tickflow.yaml` with its
 * work pools and `env.example`, and the JSON Schemas in `schemas/`, which every file's
 * `# yaml-language-server: $schema=` line points at. From the repo's files, or from the binary's
 * assets. Existing files are never overwritten without `--force`. A `.gitignore` keeps the
 * database, archives and reports out of the project's repository.
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
  const ignored = await writeGitignore(root);
  const rel = relative(process.cwd(), root);
  const where = rel === "" ? "." : rel.startsWith("..") ? root : rel;
  const cd = where === "." ? "" : `cd ${where} && `;
  process.stdout.write(
    `wrote ${files.length} files to ${root}${existing.length > 0 ? ` (${existing.length} overwritten)` : ""}:\n` +
      files.map((f) => `  ${f}\n`).join("") +
      (ignored ? `  .gitignore (${ignored})\n` : "") +
      `\nnext:\n  ${cd}tickflow validate pipelines deployment\n  tickflow run pipelines/demo.yaml    # offline, into ./tickflow.duckdb\n`,
  );
  return 0;
}

/** What tickflow makes in a project, as opposed to what its user writes. */
const GITIGNORE = `# What tickflow makes (tickflow init): the database and its write-ahead log, single binaries
# built from a checkout, the cleanup pipeline's Parquet archives, the validation pipeline's reports.
*.duckdb*
build/
archive/
reports/
`;

/**
 * Writes `.gitignore`, or adds to one that exists the patterns it lacks (a project's own rules are
 * never replaced, even with --force). Says what it did; undefined when there was nothing to add.
 */
async function writeGitignore(root: string): Promise<string | undefined> {
  const file = join(root, ".gitignore");
  if (!existsSync(file)) {
    await writeFile(file, GITIGNORE);
    return "written";
  }
  const have = new Set((await readFile(file, "utf8")).split(/\r?\n/).map((l) => l.trim()));
  const missing = GITIGNORE.split("\n").filter((l) => l !== "" && !l.startsWith("#") && !have.has(l));
  if (missing.length === 0) return undefined;
  await appendFile(file, `\n# Added by tickflow init\n${missing.join("\n")}\n`);
  return `added ${missing.join(" ")}`;
}
