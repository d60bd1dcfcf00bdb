// Drives Red Hat's yaml-language-server (the one behind VS Code's YAML extension) in-process,
// offline: schemas are read from disk, any other request fails.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { TextDocument as TextDocumentT } from "vscode-languageserver-textdocument";
import type {
  LanguageService,
  SchemasSettings,
} from "yaml-language-server/lib/umd/languageservice/yamlLanguageService.js";
import { REPO } from "./cli.js";

export { REPO };

// The package ships CommonJS (UMD) builds only usable through require(); its ESM build has
// extensionless imports that Node cannot load.
const require = createRequire(import.meta.url);
const { getLanguageService } =
  require("yaml-language-server/lib/umd/languageservice/yamlLanguageService.js") as typeof import("yaml-language-server/lib/umd/languageservice/yamlLanguageService.js");
// A dependency of yaml-language-server, resolved from there so it does not have to be ours.
const { TextDocument } = createRequire(require.resolve("yaml-language-server/package.json"))(
  "vscode-languageserver-textdocument",
) as typeof import("vscode-languageserver-textdocument");

export type { TextDocumentT as TextDocument };

export const DiagnosticSeverity = { Error: 1, Warning: 2, Information: 3, Hint: 4 } as const;

export const fileUri = (path: string): string => pathToFileURL(resolve(REPO, path)).toString();

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO, path), "utf8");
}

export function readSchema(name: string): Record<string, unknown> {
  return JSON.parse(readRepoFile(join("schemas", name))) as Record<string, unknown>;
}

export interface YamlLs {
  ls: LanguageService;
  /** Every uri the language server asked for, in order. */
  requested: string[];
}

/**
 * A language service like an editor's: `schemas` are the `yaml.schemas` settings (uri + fileMatch,
 * optionally with the schema inline); without them, files pick their schema by modeline.
 */
export function createYamlLs(schemas: SchemasSettings[] = []): YamlLs {
  const requested: string[] = [];
  const ls = getLanguageService({
    schemaRequestService: async (uri) => {
      requested.push(uri);
      if (!uri.startsWith("file:")) throw new Error(`offline test: refusing to fetch ${uri}`);
      return readFileSync(fileURLToPath(uri), "utf8");
    },
    workspaceContext: { resolveRelativePath: (relative, resource) => new URL(relative, resource).toString() },
  });
  ls.configure({ validate: true, hover: true, completion: true, yamlVersion: "1.2", schemas });
  return { ls, requested };
}

// yaml-language-server caches parsed documents by uri and version (process-wide): give every
// text its own version so an edited copy is never mistaken for an earlier one.
let version = 0;

/** A document as the editor would hold it: `path` (repo-relative) gives its uri, for modelines. */
export function yamlDocument(path: string, text: string): TextDocumentT {
  version += 1;
  return TextDocument.create(fileUri(path), "yaml", version, text);
}

/** Replaces exactly one occurrence of `find` (fails loudly when the example file changed). */
export function replaceOnce(text: string, find: string, replacement: string): string {
  const at = text.indexOf(find);
  if (at < 0 || text.indexOf(find, at + 1) >= 0) {
    throw new Error(`expected exactly one ${JSON.stringify(find)} in the example file`);
  }
  return text.slice(0, at) + replacement + text.slice(at + find.length);
}

/** 0-based line and character of the first occurrence of `needle` (plus `shift` characters). */
export function positionOf(text: string, needle: string, shift = 0): { line: number; character: number } {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`${JSON.stringify(needle)} not found`);
  const before = text.slice(0, at + shift).split("\n");
  return { line: before.length - 1, character: before.at(-1)!.length };
}
