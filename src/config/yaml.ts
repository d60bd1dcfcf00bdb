import {
  type Alias,
  Composer,
  type CST,
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  type Node,
  type Pair,
  Parser,
  type YAMLError,
  type YAMLMap,
} from "yaml";
import { type Diagnostic, jsonPointer } from "./diagnostics.js";

// Limits keep every check fast and bounded in memory, whatever the input; each is reported with
// its number and a position. Real files are a few kilobytes, with a handful of levels and aliases.

/** Pipelines and deployments are small; a cap keeps a stray 10 MB file from stalling `validate`. */
export const MAX_FILE_BYTES = 2 * 1024 * 1024;
/** Levels of nesting (block or flow): the composer and every walk after it recurse per level. */
export const MAX_DEPTH = 200;
/** YAML tokens (values, indicators, line breaks, comments): 2 µs or so each through the parser and composer. */
export const MAX_TOKENS = 250_000;
/** Anchors and aliases: the yaml package resolves each alias by scanning all of them. */
export const MAX_ANCHORS = 1000;
/** Values that aliases stand for beyond those written: a "billion laughs" file fails fast. */
export const MAX_ALIAS_VALUES = 100_000;
/** YAML syntax errors reported; past the first few, they are the cascade of one mistake. */
const MAX_SYNTAX_ERRORS = 100;

/** A parsed YAML file that can map a JSON pointer back to its line and column. */
export interface YamlFile {
  file: string;
  text: string;
  doc: Document.Parsed;
  value: unknown;
  /** Position of the node at `segments` (the nearest existing ancestor if it is missing). */
  locate(segments: readonly (string | number)[], target?: "key" | "value"): Position;
  /** Line and column of a character offset. */
  position(offset: number): Position;
  /** The node an alias stands for. */
  resolve(alias: Alias): Node | undefined;
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

/** The one error of a file refused before it is checked further. */
function refused(file: string, p: { line: number; col: number }, message: string): ParseResult {
  return { ok: false, diagnostics: [errorAt(file, p.line, p.col, message)] };
}

/** Parses YAML bytes into a value with positions; every problem becomes a diagnostic, never an exception. */
export function parseYaml(file: string, bytes: Buffer | string): ParseResult {
  const size = typeof bytes === "string" ? Buffer.byteLength(bytes) : bytes.length;
  if (size > MAX_FILE_BYTES) return refused(file, { line: 1, col: 1 }, tooLargeMessage(size));
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
    return refused(file, pos(binary), "not a YAML text file (binary or non-UTF-8 content)");
  }

  // Errors are made by the thousand on broken input; their stack traces would cost more than the parse.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let docs: Document.Parsed[];
  try {
    const cst = parseCst(text, lineCounter);
    if ("refusal" in cst) return refused(file, pos(cst.offset), cst.refusal);
    // Keys are checked for uniqueness below: the yaml package compares each with every other.
    docs = [
      ...new Composer({ uniqueKeys: false, prettyErrors: false, strict: true }).compose(cst.tokens),
    ] as Document.Parsed[];
  } catch (err) {
    // Not expected within the limits; still a diagnostic, never a crash.
    return refused(file, { line: 1, col: 1 }, `cannot parse YAML: ${firstLine(err)}`);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
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
    ...syntaxErrors(file, text, [...doc.errors, ...docs.slice(1).flatMap((d) => d.errors)], lineCounter),
  );
  for (const w of doc.warnings.slice(0, MAX_SYNTAX_ERRORS))
    diagnostics.push({ ...yamlErrorToDiagnostic(file, w, pos), severity: "warning" });
  if (diagnostics.some((d) => d.severity === "error")) return { ok: false, diagnostics };

  const nodes = checkNodes(doc);
  if (nodes.problems.length) {
    for (const problem of nodes.problems) {
      const p = pos(problem.offset);
      diagnostics.push(errorAt(file, p.line, p.col, problem.message));
    }
    return { ok: false, diagnostics };
  }
  // No alias is recursive and their expansion is bounded: the yaml package's count is not needed
  // (it walks the document again for every alias). Anything left is still a diagnostic.
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: -1 });
  } catch (err) {
    return {
      ok: false,
      diagnostics: [...diagnostics, errorAt(file, 1, 1, `cannot read YAML: ${firstLine(err)}`)],
    };
  }

  const resolve = (alias: Alias) => nodes.targets.get(alias);
  const locate = (segments: readonly (string | number)[], target: "key" | "value" = "value"): Position => {
    let node: Node | undefined = (doc.contents as Node | null) ?? undefined;
    let best = node?.range ? node.range[0] : 0;
    for (let i = 0; i < segments.length && node; i++) {
      const found = child(node, segments[i]!, resolve);
      if (!found) break;
      if (i === segments.length - 1 && target === "key" && found.key?.range) return pos(found.key.range[0]);
      node = found.value ?? found.key;
      if (node?.range) best = node.range[0];
    }
    return pos(best);
  };

  return { ok: true, yaml: { file, text, doc, value, locate, position: pos, resolve }, diagnostics };
}

function firstLine(err: unknown): string {
  return err instanceof Error ? err.message.split("\n")[0]! : String(err);
}

export function tooLargeMessage(size: number): string {
  return `file is too large (${(size / 1048576).toFixed(1)} MiB; the limit is ${MAX_FILE_BYTES / 1048576} MiB)`;
}

/**
 * The CST of the text, token by token so that the limits stop it early: the parser slows down
 * with depth (each token passes through a generator per level) and the composer recurses per level.
 */
function parseCst(
  text: string,
  lineCounter: LineCounter,
): { tokens: CST.Token[] } | { refusal: string; offset: number } {
  const parser = new Parser(lineCounter.addNewLine);
  const tokens: CST.Token[] = [];
  lineCounter.addNewLine(0);
  let count = 0;
  for (const lexeme of new Lexer().lex(text)) {
    // The parser's offset, not ours: the lexer also yields markers that are not in the text.
    const offset = parser.offset;
    if (++count > MAX_TOKENS)
      return {
        refusal: `file has too many YAML tokens (more than ${MAX_TOKENS}: values, indicators, line breaks, comments)`,
        offset,
      };
    for (const token of parser.next(lexeme)) tokens.push(token);
    // The stack holds the document, each open collection and the scalar being read.
    if (parser.stack.length - 1 > MAX_DEPTH)
      return { refusal: `nesting too deep (more than ${MAX_DEPTH} levels)`, offset };
  }
  for (const token of parser.end()) tokens.push(token);
  return { tokens };
}

interface Problem {
  offset: number;
  message: string;
}

interface NodeCheck {
  /** Each alias and the node it stands for. */
  targets: Map<Alias, Node>;
  problems: Problem[];
}

/** What a walk of a node's JS value visits: its values (aliases expanded), those written, its depth. */
interface Shape {
  size: number;
  written: number;
  depth: number;
}

interface Frame extends Shape {
  node: Node;
  /** Items of a sequence; keys and values of a mapping, alternately. */
  children: (Node | null)[];
  next: number;
  /** For a mapping, the keys seen so far. */
  keys?: Set<string>;
}

/**
 * One walk over the nodes, without recursion: keys unique within each mapping (compared as the
 * JS keys they become; linear, unlike the yaml package's check), keys that are scalars, and aliases
 * that are defined, not recursive (`&a [*a]`), few, and stand for a bounded number of values.
 */
function checkNodes(doc: Document.Parsed): NodeCheck {
  const targets = new Map<Alias, Node>();
  const problems: Problem[] = [];
  const at = (node: Node, message: string): Problem => ({ offset: node.range?.[0] ?? 0, message });
  // Alias problems end the walk: what follows would be built on them.
  const fatal = (node: Node, message: string): NodeCheck => ({
    targets,
    problems: [...problems, at(node, message)],
  });
  const anchors = new Map<string, Node>();
  let anchorsAndAliases = 0;
  const tooManyAnchors = `too many anchors and aliases (more than ${MAX_ANCHORS})`;
  /** Shapes of the finished anchored nodes (an alias counts as its target). */
  const shapes = new Map<Node, Shape>();
  const stack: Frame[] = [];

  /** Adds a finished child to its parent; a message when that takes the parent past a limit. */
  const add = (frame: Frame, shape: Shape): string | undefined => {
    frame.size += shape.size;
    frame.written += shape.written;
    frame.depth = Math.max(frame.depth, shape.depth + 1);
    if (frame.size - frame.written > MAX_ALIAS_VALUES)
      return `too many alias expansions: aliases stand for more than ${MAX_ALIAS_VALUES} values (is this a YAML bomb?)`;
    if (stack.length + shape.depth > MAX_DEPTH + 1)
      return `nesting too deep through aliases (more than ${MAX_DEPTH} levels)`;
    return undefined;
  };

  const root = doc.contents as Node | null;
  if (!root) return { targets, problems };
  const pending: (Node | null)[] = [root];
  const top = { node: root, children: pending, next: 0, size: 0, written: 0, depth: 0 } as Frame;
  stack.push(top);
  while (stack.length) {
    const frame = stack[stack.length - 1]!;
    if (frame.next === frame.children.length) {
      stack.pop();
      const parent = stack[stack.length - 1];
      if (!parent) break;
      if (frame.node.anchor) shapes.set(frame.node, frame);
      const problem = add(parent, frame);
      if (problem) return fatal(frame.node, problem);
      continue;
    }
    const isKey = frame.keys !== undefined && frame.next % 2 === 0;
    const node = frame.children[frame.next++];
    if (!node) continue;
    let value: Node = node;
    if (isAlias(node)) {
      if (++anchorsAndAliases > MAX_ANCHORS) return fatal(node, tooManyAnchors);
      const target = anchors.get(node.source);
      if (!target) return fatal(node, `alias *${node.source} has no anchor &${node.source} before it`);
      const shape = shapes.get(target);
      // Its anchored node is still open: the alias is inside it, a structure containing itself.
      if (!shape)
        return fatal(
          node,
          `alias *${node.source} is inside the node it refers to (&${node.source}): recursive structures are not allowed`,
        );
      targets.set(node, target);
      value = target;
      const problem = add(frame, { ...shape, written: 1 });
      if (problem) return fatal(node, problem);
    } else if (node.anchor) {
      if (++anchorsAndAliases > MAX_ANCHORS) return fatal(node, tooManyAnchors);
      anchors.set(node.anchor, node);
    }
    if (isKey) {
      if (!isScalar(value) || (value.value !== null && typeof value.value === "object")) {
        problems.push(
          at(node, "a mapping key must be a plain value (text or a number), not a list or mapping"),
        );
      } else {
        const key = value.value === null ? "" : String(value.value);
        if (frame.keys!.has(key)) problems.push(at(node, "YAML: Map keys must be unique"));
        frame.keys!.add(key);
      }
      if (problems.length > MAX_SYNTAX_ERRORS) return { targets, problems };
    }
    if (isAlias(node)) continue;
    if (isMap(node)) {
      const children: (Node | null)[] = [];
      for (const pair of node.items) children.push(pair.key as Node | null, pair.value as Node | null);
      stack.push({ node, children, next: 0, size: 1, written: 1, depth: 1, keys: new Set() });
    } else if (isSeq(node)) {
      stack.push({ node, children: node.items as (Node | null)[], next: 0, size: 1, written: 1, depth: 1 });
    } else {
      // A long string costs each walk its length: it counts as one value per 32 characters.
      const weight = isScalar(node) && typeof node.value === "string" ? 1 + (node.value.length >>> 5) : 1;
      const shape = { size: weight, written: weight, depth: 1 };
      if (node.anchor) shapes.set(node, shape);
      const problem = add(frame, shape);
      if (problem) return fatal(node, problem);
    }
  }
  return { targets, problems };
}

/** The YAML node at a path (for reading the raw source of a scalar), or undefined. */
export function nodeAt(yaml: YamlFile, segments: readonly (string | number)[]): Node | undefined {
  let node: Node | undefined = (yaml.doc.contents as Node | null) ?? undefined;
  for (const seg of segments) {
    if (!node) return undefined;
    node = child(node, seg, yaml.resolve)?.value;
  }
  return node;
}

/** Each mapping's pairs by key, built on first use: a lookup per diagnostic must not scan 10,000 tasks. */
const pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

function pairsByKey(map: YAMLMap): Map<string, Pair> {
  let index = pairIndex.get(map);
  if (!index) {
    index = new Map();
    for (const pair of map.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      if (!index.has(key)) index.set(key, pair as Pair);
    }
    pairIndex.set(map, index);
  }
  return index;
}

/** The key and value nodes of one step down a path (through aliases), or undefined. */
function child(
  parent: Node,
  seg: string | number,
  resolve: (alias: Alias) => Node | undefined,
): { key?: Node; value: Node | undefined } | undefined {
  const node = isAlias(parent) ? resolve(parent) : parent;
  if (isMap(node)) {
    const pair = pairsByKey(node).get(String(seg));
    return pair ? { key: pair.key as Node, value: (pair.value as Node | null) ?? undefined } : undefined;
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
  lineCounter: LineCounter,
): Diagnostic[] {
  const pos = (offset: number): Position => ({ ...lineCounter.linePos(offset), offset });
  const out: Diagnostic[] = [];
  const lines = new Set<number>();
  for (const e of errors) {
    const d = yamlErrorToDiagnostic(file, e, pos);
    if (lines.has(d.line)) continue;
    lines.add(d.line);
    if (out.length === MAX_SYNTAX_ERRORS) {
      out.push({ ...d, message: `more YAML errors follow (the first ${MAX_SYNTAX_ERRORS} are shown)` });
      break;
    }
    const start = lineCounter.lineStarts[d.line - 1] ?? 0;
    const end = text.indexOf("\n", start);
    const lineText = text.slice(start, end < 0 ? text.length : end);
    // The pattern backtracks on long lines; a line that long is no hand-written flow mapping.
    if (lineText.length <= 2000 && /[{[,]\s*[^"'\s]*\$\{\{|:\s*\$\{\{[^}]*\}\}\s*[,}\]]/.test(lineText)) {
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
  if (options.offsetShift) p = yaml.position(p.offset + options.offsetShift);
  return {
    file: yaml.file,
    line: p.line,
    col: p.col,
    severity: options.severity ?? "error",
    message,
    path: jsonPointer(segments),
  };
}
