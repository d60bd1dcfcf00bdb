import { readFile, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import type { ValidateFunction } from "ajv";
import type { z } from "zod";
import type { Diagnostic } from "./diagnostics.js";
import { checkSchema } from "./schema-check.js";
import { diagnosticAt, MAX_FILE_BYTES, parseYaml, tooLargeMessage, type YamlFile } from "./yaml.js";

export const FILE_KINDS = ["pipeline", "work_pool", "deployments"] as const;
export type FileKind = (typeof FILE_KINDS)[number];

/** A checked file: `yaml` when it parsed, `doc` only when it has no error. */
export type Loaded<T> = { yaml?: YamlFile; doc?: T; diagnostics: Diagnostic[] };

function fileError(file: string, message: string): Diagnostic {
  return { file, line: 1, col: 1, severity: "error", message, path: "" };
}

/** Reads a file for checking; a missing or unreadable file is a diagnostic, not an exception. */
export async function readYamlFile(file: string): Promise<{ yaml?: YamlFile; diagnostics: Diagnostic[] }> {
  let bytes: Buffer;
  try {
    const info = await stat(file);
    if (info.isDirectory()) return { diagnostics: [fileError(file, "is a folder, expected a YAML file")] };
    // Refuse before reading: a huge file should cost nothing.
    if (info.size > MAX_FILE_BYTES) {
      return { diagnostics: [fileError(file, tooLargeMessage(info.size))] };
    }
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (err as Error).message;
    return { diagnostics: [fileError(file, `cannot read file: ${why}`)] };
  }
  const parsed = parseYaml(file, bytes);
  return parsed.ok
    ? { yaml: parsed.yaml, diagnostics: parsed.diagnostics }
    : { diagnostics: parsed.diagnostics };
}

/** The `kind:` of a parsed document, or a diagnostic saying why there is none. */
export function kindOf(yaml: YamlFile): FileKind | Diagnostic {
  const value = yaml.value;
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return diagnosticAt(yaml, [], `expected a mapping with \`kind:\` (${FILE_KINDS.join(", ")})`);
  }
  const kind = (value as Record<string, unknown>).kind;
  if (kind === undefined)
    return diagnosticAt(yaml, [], `missing \`kind:\` (one of ${FILE_KINDS.join(", ")})`);
  if (typeof kind !== "string" || !(FILE_KINDS as readonly string[]).includes(kind)) {
    return diagnosticAt(
      yaml,
      ["kind"],
      `unknown kind ${JSON.stringify(kind)}: expected one of ${FILE_KINDS.join(", ")}`,
    );
  }
  return kind as FileKind;
}

/** Schema check, then the typed value (only when the schema found no error). */
export function typedDocument<T extends z.ZodType>(
  yaml: YamlFile,
  validate: ValidateFunction,
  model: T,
): { doc: z.output<T> | undefined; diagnostics: Diagnostic[] } {
  const diagnostics = checkSchema(yaml, validate);
  if (diagnostics.length) return { doc: undefined, diagnostics };
  const parsed = model.safeParse(yaml.value);
  if (parsed.success) return { doc: parsed.data, diagnostics };
  // The schema and the model come from one source; a mismatch is ours, but still reported with a place.
  return {
    doc: undefined,
    diagnostics: parsed.error.issues.map((i) => diagnosticAt(yaml, i.path as (string | number)[], i.message)),
  };
}

/** Paths as diagnostics print them: relative to the working folder when inside it, else absolute. */
export function displayPath(p: string): string {
  const rel = relative(process.cwd(), resolve(p));
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : resolve(p);
}
