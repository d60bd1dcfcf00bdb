import { stat } from "node:fs/promises";
import { glob } from "tinyglobby";
import type { Diagnostic } from "../config/diagnostics.js";
import { displayPath, type FileKind, kindOf, readYamlFile } from "../config/document.js";
import type { YamlFile } from "../config/yaml.js";
import { checkPipelineFile } from "../pipeline/load.js";
import { checkDeploymentsFile, checkWorkPoolFile, newLoadCache } from "../schedule/load.js";
import { builtinSteps } from "../steps/index.js";
import { printDiagnostics, summary, UsageError } from "./output.js";

export interface ValidateOptions {
  format: "text" | "json";
}

/** `tickflow validate PATH...`: every file's every error; exit 1 when any is an error. */
export async function validateCommand(paths: string[], options: ValidateOptions): Promise<number> {
  const files: { file: string; explicit: boolean }[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = (await stat(p)).isDirectory();
    } catch {
      throw new UsageError(`no such file or folder: ${p}`);
    }
    if (!isDir) files.push({ file: displayPath(p), explicit: true });
    else {
      const found = await glob(["**/*.yaml", "**/*.yml"], {
        cwd: p,
        absolute: true,
        ignore: ["**/node_modules/**", "**/.git/**"],
      });
      for (const f of found.sort()) files.push({ file: displayPath(f), explicit: false });
    }
  }
  const seen = new Set<string>();
  const unique = files.filter((f) => !seen.has(f.file) && seen.add(f.file));

  const diagnostics: Diagnostic[] = [];
  const cache = newLoadCache();
  for (const { file, explicit } of unique) diagnostics.push(...(await checkFile(file, explicit, cache)));
  printDiagnostics(diagnostics, options.format);
  if (options.format === "text") process.stderr.write(`${summary(unique.length, diagnostics)}\n`);
  return diagnostics.some((d) => d.severity === "error") ? 1 : 0;
}

async function checkFile(
  file: string,
  explicit: boolean,
  cache: ReturnType<typeof newLoadCache>,
): Promise<Diagnostic[]> {
  const read = await readYamlFile(file);
  if (!read.yaml) return read.diagnostics;
  const kind = kindOf(read.yaml);
  if (typeof kind !== "string") {
    // In a folder, YAML that is not ours (a CI workflow, say) is skipped, not an error.
    const foreign =
      !explicit && read.yaml.value && typeof read.yaml.value === "object" && !("kind" in read.yaml.value);
    return foreign ? [] : [...read.diagnostics, kind];
  }
  return checkKind(read.yaml, kind, read.diagnostics, cache);
}

/** The checks of a parsed file of a known kind, after the diagnostics of its reading. */
export async function checkKind(
  yaml: YamlFile,
  kind: FileKind,
  earlier: Diagnostic[],
  cache: ReturnType<typeof newLoadCache>,
): Promise<Diagnostic[]> {
  switch (kind) {
    case "pipeline":
      return (await checkPipelineFile(yaml, builtinSteps, earlier)).diagnostics;
    case "work_pool":
      return (await checkWorkPoolFile(yaml, earlier)).diagnostics;
    case "deployments":
      return (await checkDeploymentsFile(yaml, builtinSteps, cache, earlier)).diagnostics;
  }
}
