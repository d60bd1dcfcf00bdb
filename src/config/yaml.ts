import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  type YAMLError,
} from "yaml";
import { type Diagnostic, jsonPointer } from "./diagnostics.js";

/** Pipelines and deployments are small; a cap keeps a stray 10 MB file from stalling `validate`. */
export const MAX_FILE_BYTES = 2 * 1024 * 1024;
/** The parser recurses per level of `[`/`{`; refuse absurd nesting before it overflows the stack slowly. */
const MAX_FLOW_DEPTH = 200;
/** YAML aliases expand: cap them so a "billion laughs" file fails fast instead of eating memory. */
const MAX_ALIAS_COUNT = 200;

/** A parsed YAML file that can map a JSON pointer back to its line and column. */
export interface YamlFile {
  file: string;
  text: string;
  doc: Document.Parsed;
  value: unknown;
  /** Position of the node at `segments` (the nearest existing ancestor if it is missing). */
  locate(segments: readonly (string | number)[], target?: "key" | "value"): Position;
}

export interface Position {
  line: number;
  col: number;
  /** Character offset in the file. */
  offset: number;
}

export type ParseResult =
  | { ok: true; yaml: YamlFile; diagnostics: Diagnostic[] }
  | { ok: false; diagnostics: Diagnostic[] };

function errorAt(file: string, line: number, col: number, message: string): Diagnostic {
  return { file, line, col, severity: "error", message, path: "" };
}

/** Parses YAML bytes into a value with positions; every problem becomes a diagnostic, never an exception. */
export function parseYaml(file: string, bytes: Buffer | string): ParseResult {
  const size = typeof bytes === "string" ? Buffer.byteLength(bytes) : bytes.length;
  if (size > MAX_FILE_BYTES) {
    return {
      ok: false,
      diagnostics: [
        errorAt(
          file,
          1,
          1,
          `file is too large (${(size / 1048576).toFixed(1)} MiB; the limit is ${MAX_FILE_BYTES / 1048576} MiB)`,
        ),
      ],
    };
  }
  const text = typeof bytes === "string" ? bytes : bytes.toString("utf8");
  const lineCounter = new LineCounter();
  const pos = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col, offset };
  };
  const binary = firstBinaryOffset(text);
  if (binary !== undefined) {
    lineCounter.addNewLine(0);
    for (let i = text.indexOf("\n"); i !== -1 && i < binary; i = text.indexOf("\n", i + 1))
      lineCounter.addNewLine(i + 1);
    const p = pos(binary);
    return {
      ok: false,
      diagnostics: [errorAt(file, p.line, p.col, "not a YAML text file (binary or non-UTF-8 content)")],
    };
  }

  const depth = flowDepthBeyond(text, MAX_FLOW_DEPTH);
  if (depth !== undefined) {
    const p = lineColAt(text, depth);
    return {
      ok: false,
      diagnostics: [
        errorAt(file, p.line, p.col, `nesting too deep (more than ${MAX_FLOW_DEPTH} levels of [ ] or { })`),
      ],
    };
  }

  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      lineCounter,
      uniqueKeys: true,
      prettyErrors: false,
      strict: true,
    }) as Document.Parsed[];
  } catch (err) {
    // The parser recurses; absurd nesting can exhaust the stack. Report it, never crash.
    return {
      ok: false,
      diagnostics: [errorAt(file, 1, 1, `cannot parse YAML: ${describeInternalError(err)}`)],
    };
  }
  if (!Array.isArray(docs)) docs = [docs];
  const diagnostics: Diagnostic[] = [];
  const doc = docs[0];
  if (!doc)
    return {
      ok: false,
      diagnostics: [errorAt(file, 1, 1, "the file is empty: expected a mapping with `kind:`")],
    };
  for (const extra of docs.slice(1)) {
    const p = pos(extra.range[0]);
    diagnostics.push(
      errorAt(file, p.line, p.col, "only one YAML document per file is allowed (remove `---`)"),
    );
  }
  diagnostics.push(
    ...syntaxErrors(file, text, [...doc.errors, ...docs.slice(1).flatMap((d) => d.errors)], pos),
  );
  for (const w of doc.warnings)
    diagnostics.push({ ...yamlErrorToDiagnostic(file, w, pos), severity: "warning" });
  if (diagnostics.some((d) => d.severity === "error")) return { ok: false, diagnostics };

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const message =
      err instanceof Error && /alias/i.test(err.message)
        ? `too many alias expansions (the limit is ${MAX_ALIAS_COUNT}): is this a YAML bomb?`
        : `cannot read YAML: ${describeInternalError(err)}`;
    return { ok: false, diagnostics: [...diagnostics, errorAt(file, 1, 1, message)] };
  }

  const locate = (segments: readonly (string | number)[], target: "key" | "value" = "value"): Position => {
    let node: Node | undefined = (doc.contents as Node | null) ?? undefined;
    let best = node?.range ? node.range[0] : 0;
    for (let i = 0; i < segments.length && node; i++) {
      const found = child(doc, node, segments[i]!);
      if (!found) break;
      if (i === segments.length - 1 && target === "key" && found.key?.range) return pos(found.key.range[0]);
      node = found.value ?? found.key;
      if (node?.range) best = node.range[0];
    }
    return pos(best);
  };

  return { ok: true, yaml: { file, text, doc, value, locate }, diagnostics };
}

/** The YAML node at a path (for reading the raw source of a scalar), or undefined. */
export function nodeAt(yaml: YamlFile, segments: readonly (string | number)[]): Node | undefined {
  let node: Node | undefined = (yaml.doc.contents as Node | null) ?? undefined;
  for (const seg of segments) {
    if (!node) return undefined;
    node = child(yaml.doc, node, seg)?.value;
  }
  return node;
}

/** The key and value nodes of one step down a path (through aliases), or undefined. */
function child(
  doc: Document,
  parent: Node,
  seg: string | number,
): { key?: Node; value: Node | undefined } | undefined {
  const node = isAlias(parent) ? (parent.resolve(doc) as Node | undefined) : parent;
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === String(seg)) {
        return { key: pair.key as Node, value: (pair.value as Node | null) ?? undefined };
      }
    }
    return undefined;
  }
  if (isSeq(node)) {
    const item = node.items[Number(seg)] as Node | undefined;
    return item ? { value: item } : undefined;
  }
  return undefined;
}

/**
 * After a token the parser cannot place, every later token is "unexpected" too: report the errors
 * up to and including the first such one, one per line, so the user sees the cause, not the cascade.
 */
function syntaxErrors(
  file: string,
  text: string,
  errors: YAMLError[],
  pos: (o: number) => Position,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const lines = new Set<number>();
  for (const e of errors) {
    const d = yamlErrorToDiagnostic(file, e, pos);
    if (lines.has(d.line)) continue;
    lines.add(d.line);
    const lineText = text.split("\n", d.line)[d.line - 1] ?? "";
    if (/[{[,]\s*[^"'\s]*\$\{\{|:\s*\$\{\{[^}]*\}\}\s*[,}\]]/.test(lineText)) {
      d.message += ' (inside { } or [ ], an expression must be quoted: "${{ ... }}")';
    }
    out.push(d);
    if (/in YAML stream/.test(e.message)) break;
  }
  return out;
}

function yamlErrorToDiagnostic(file: string, e: YAMLError, pos: (o: number) => Position): Diagnostic {
  const p = pos(e.pos[0]);
  // The yaml package appends " at line X, column Y:" plus a source excerpt; we print our own position.
  const message = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  return errorAt(file, p.line, p.col, `YAML: ${message}`);
}

function describeInternalError(err: unknown): string {
  if (err instanceof RangeError) return "nesting too deep";
  return err instanceof Error ? err.message.split("\n")[0]! : String(err);
}

/** Offset where `[`/`{` nesting first exceeds `limit` (outside quotes and comments), or undefined. */
function flowDepthBeyond(text: string, limit: number): number | undefined {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote || c === "\n") quote = undefined;
    } else if (c === '"' || c === "'") {
      // A quote starts a string only at the start of a scalar, not inside one (it's).
      const prev = text[i - 1];
      if (prev === undefined || " \t[{,:\n".includes(prev)) quote = c;
    } else if (c === "#" && (i === 0 || " \t\n".includes(text[i - 1]!))) {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end - 1;
    } else if (c === "[" || c === "{") {
      if (++depth > limit) return i;
    } else if ((c === "]" || c === "}") && depth > 0) depth--;
  }
  return undefined;
}

/** Offset of the first NUL, or of a U+FFFD that stands for invalid UTF-8, or undefined for text. */
function firstBinaryOffset(text: string): number | undefined {
  const nul = text.indexOf("\0");
  const bad = text.indexOf("\uFFFD");
  const hits = [nul, bad].filter((i) => i >= 0);
  return hits.length ? Math.min(...hits) : undefined;
}

/** A diagnostic pointing at the YAML node at `segments` (its key with `target: "key"`). */
export function diagnosticAt(
  yaml: YamlFile,
  segments: readonly (string | number)[],
  message: string,
  options: { target?: "key" | "value"; severity?: "error" | "warning"; offsetShift?: number } = {},
): Diagnostic {
  let p = yaml.locate(segments, options.target);
  if (options.offsetShift) {
    p = { ...lineColAt(yaml.text, p.offset + options.offsetShift), offset: p.offset + options.offsetShift };
  }
  return {
    file: yaml.file,
    line: p.line,
    col: p.col,
    severity: options.severity ?? "error",
    message,
    path: jsonPointer(segments),
  };
}

/** 1-based line and column of a character offset. */
export function lineColAt(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}
