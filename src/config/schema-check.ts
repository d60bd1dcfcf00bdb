import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { type Diagnostic, parseJsonPointer } from "./diagnostics.js";
import { DURATION_PATTERN } from "./duration.js";
import { closest } from "./suggest.js";
import type { YamlFile } from "./yaml.js";

// ajv-formats is CommonJS: under nodenext its types are the module namespace; at run time the
// default import is the plugin itself (node) or a wrapper holding it (vite, bundlers).
type FormatsPlugin = (ajv: Ajv2020) => unknown;
const formatsModule = addFormatsModule as unknown as FormatsPlugin | { default: FormatsPlugin };
const addFormats = typeof formatsModule === "function" ? formatsModule : formatsModule.default;

/** The `$defs` name of the schema that matches a whole `${{ ... }}` value. */
export const EXPRESSION_DEF = "expression";

/** Compiles a JSON Schema (draft 2020-12) with every error reported, not only the first. */
export function compileSchema(schema: object): ValidateFunction {
  // Code optimisation costs more at compile time than it saves on files this small.
  const ajv = new Ajv2020({ allErrors: true, strict: false, verbose: true, code: { optimize: false } });
  addFormats(ajv);
  return ajv.compile(schema);
}

let dynamicAjv: Ajv2020 | undefined;
const dynamicCache = new Map<string, ValidateFunction>();

/**
 * Compiles a small schema built at run time (a pipeline's parameter declarations). One shared ajv
 * instance, no meta-schema pass (that alone costs ~30 ms per instance), cached by content.
 * Throws ajv's error for an unusable schema (a bad regular expression, say).
 */
export function compileDynamicSchema(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = dynamicCache.get(key);
  if (!validate) {
    dynamicAjv ??= addFormats(
      new Ajv2020({ allErrors: true, strict: false, validateSchema: false, code: { optimize: false } }),
    ) as Ajv2020;
    validate = dynamicAjv.compile(schema);
    dynamicCache.set(key, validate);
  }
  return validate;
}

/** Checks a parsed YAML file against a compiled schema; each error points at its YAML node. */
export function checkSchema(yaml: YamlFile, validate: ValidateFunction): Diagnostic[] {
  if (validate(yaml.value)) return [];
  const errors = simplify(validate.errors ?? []);
  return errors.map((e) => {
    const segments = parseJsonPointer(e.instancePath);
    let target: "key" | "value" = "value";
    let message: string;
    let path = e.instancePath;
    if (e.keyword === "additionalProperties") {
      const key = String(e.params.additionalProperty);
      segments.push(key);
      path = `${path}/${key}`;
      target = "key";
      const known = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {});
      const hint = closest(key, known);
      message = `unknown key "${key}"${where(e.instancePath)}${hint ? ` (did you mean "${hint}"?)` : ""}`;
    } else if (e.keyword === "propertyNames") {
      const key = String(e.params.propertyName);
      segments.push(key);
      path = `${path}/${key}`;
      target = "key";
      message = `invalid name "${key}"${where(e.instancePath)}: use letters, digits, "_" and "-", starting with a letter`;
    } else {
      message = describe(e);
    }
    const p = yaml.locate(segments, target);
    return {
      file: yaml.file,
      line: p.line,
      col: p.col,
      severity: "error",
      message,
      path,
    } satisfies Diagnostic;
  });
}

function where(instancePath: string): string {
  return instancePath ? ` in ${instancePath.slice(1).replaceAll("/", ".")}` : "";
}

function label(instancePath: string): string {
  const segs = parseJsonPointer(instancePath);
  return segs.length ? `"${segs.join(".")}"` : "the document";
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "list";
  if (typeof value === "object") return "mapping";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

const TYPE_WORDS: Record<string, string> = { object: "a mapping", array: "a list" };

function describe(e: ErrorObject): string {
  const what = label(e.instancePath);
  switch (e.keyword) {
    case "required":
      return `missing required key "${e.params.missingProperty}"${where(e.instancePath)}`;
    case "type": {
      const want = String(e.params.type)
        .split(",")
        .map((t) => TYPE_WORDS[t] ?? t)
        .join(" or ");
      return `${what} must be ${want}, got ${typeOf(e.data)} ${show(e.data)}`;
    }
    case "enum": {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      const hint = typeof e.data === "string" ? closest(e.data, allowed) : undefined;
      const list = allowed.length <= 12 ? `: ${allowed.join(", ")}` : "";
      return `${what} must be one of the allowed values${list}; got ${show(e.data)}${hint ? ` (did you mean "${hint}"?)` : ""}`;
    }
    case "const":
      return `${what} must be ${JSON.stringify(e.params.allowedValue)}, got ${show(e.data)}`;
    case "pattern":
      if (e.params.pattern === DURATION_PATTERN) {
        return `${what} must be a duration like 500ms, 30s, 10m, 2h or 1d, got ${show(e.data)}`;
      }
      return `${what} ${show(e.data)} does not match the pattern ${e.params.pattern}`;
    case "format":
      return `${what} must be a ${e.params.format}, got ${show(e.data)}`;
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
    case "minItems":
    case "maxItems":
    case "minLength":
    case "maxLength":
    case "minProperties":
      return `${what} ${e.message}, got ${show(e.data)}`;
    default:
      return `${what} ${e.message ?? "is invalid"}`;
  }
}

/**
 * ajv reports every branch of an `anyOf` and every `if` it evaluated; users want the one reason
 * their value is wrong. Drop the branch that accepts `${{ }}` expressions, the `if`/`anyOf` wrappers
 * when a more precise error exists at or below the same place, and duplicates.
 */
function simplify(errors: ErrorObject[]): ErrorObject[] {
  const kept = errors.filter((e) => e.keyword !== "if" && !e.schemaPath.includes(`/$defs/${EXPRESSION_DEF}`));
  // Every place at or above a precise error, so each wrapper is checked in one look-up (not a scan
  // of all errors: a file of 10,000 broken tasks has 10,000 of each).
  const covered = new Set<string>();
  for (const e of kept) {
    if (e.keyword === "anyOf" || e.keyword === "oneOf") continue;
    for (let p = e.instancePath; !covered.has(p); p = p.slice(0, Math.max(0, p.lastIndexOf("/")))) {
      covered.add(p);
      if (p === "") break;
    }
  }
  const out = kept.filter(
    (e) => (e.keyword !== "anyOf" && e.keyword !== "oneOf") || !covered.has(e.instancePath),
  );
  // Within one anyOf, several branches may each complain about the same value's type: merge them.
  const byPlace = new Map<string, ErrorObject>();
  for (const e of out) {
    const key = `${e.instancePath}|${e.keyword}|${e.keyword === "additionalProperties" ? e.params.additionalProperty : ""}`;
    const seen = byPlace.get(key);
    if (seen && e.keyword === "type") {
      const types = new Set([...String(seen.params.type).split(","), ...String(e.params.type).split(",")]);
      byPlace.set(key, { ...seen, params: { ...seen.params, type: [...types].join(",") } });
    } else if (!seen) {
      byPlace.set(key, e);
    }
  }
  return [...byPlace.values()];
}
