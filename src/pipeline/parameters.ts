import type { ErrorObject, ValidateFunction } from "ajv";
import { compileDynamicSchema } from "../config/schema-check.js";
import type { ParameterDeclaration } from "./document.js";

type Declarations = Record<string, ParameterDeclaration>;

/** A parameter declaration as a JSON Schema (`date` is a string in YYYY-MM-DD form). */
export function parameterJsonSchema(decl: ParameterDeclaration): Record<string, unknown> {
  const { type, description: _d, default: _def, items, ...constraints } = decl;
  const schema: Record<string, unknown> =
    type === "date" ? { type: "string", format: "date", ...constraints } : { type, ...constraints };
  if (items) {
    schema.items = items.type === "date" ? { ...items, type: "string", format: "date" } : items;
  }
  return schema;
}

function objectSchema(decls: Declarations, required: string[]): Record<string, unknown> {
  return {
    type: "object",
    properties: Object.fromEntries(Object.entries(decls).map(([k, d]) => [k, parameterJsonSchema(d)])),
    required,
    additionalProperties: false,
  };
}

export interface ParameterProblem {
  /** The parameter's name ("" for the whole set). */
  name: string;
  message: string;
}

function problems(
  errors: readonly ErrorObject[] | null | undefined,
  decls: Declarations,
): ParameterProblem[] {
  return (errors ?? []).map((e) => {
    if (e.keyword === "required")
      return { name: String(e.params.missingProperty), message: "is required (it has no default)" };
    if (e.keyword === "additionalProperties") {
      const name = String(e.params.additionalProperty);
      const known = Object.keys(decls);
      return {
        name,
        message: `is not a parameter of this pipeline (${known.length ? `known: ${known.join(", ")}` : "it declares none"})`,
      };
    }
    const [name = "", ...rest] = e.instancePath.slice(1).split("/");
    const where = rest.length ? ` (item ${rest.join("/")})` : "";
    return { name, message: `${e.message ?? "is invalid"}${where}` };
  });
}

/** Checks that every declared default fits its own declaration. */
export function checkDefaults(decls: Declarations): ParameterProblem[] {
  const defaults = Object.fromEntries(
    Object.entries(decls)
      .filter(([, d]) => d.default !== undefined)
      .map(([k, d]) => [k, d.default]),
  );
  const compiled = compile(objectSchema(decls, []));
  if ("problem" in compiled) return [compiled.problem];
  return compiled.validate(defaults) ? [] : problems(compiled.validate.errors, decls);
}

/**
 * The run's parameter values: defaults, overridden by `given` (typed, e.g. from a deployment),
 * overridden by `raw` (strings from `--param k=v`, converted to the declared type). Checked whole.
 */
export function resolveParameters(
  decls: Declarations,
  given: Record<string, unknown> = {},
  raw: Record<string, string> = {},
): { values: Record<string, unknown>; problems: ParameterProblem[] } {
  const values: Record<string, unknown> = {};
  for (const [k, d] of Object.entries(decls))
    if (d.default !== undefined) values[k] = structuredClone(d.default);
  Object.assign(values, given);
  const found: ParameterProblem[] = [];
  for (const [k, text] of Object.entries(raw)) {
    const decl = decls[k];
    if (!decl) {
      values[k] = text; // reported as unknown by the schema check below
      continue;
    }
    const converted = coerceParameter(decl, text);
    if ("error" in converted) found.push({ name: k, message: converted.error });
    else values[k] = converted.value;
  }
  if (found.length) return { values, problems: found };
  const required = Object.entries(decls)
    .filter(([, d]) => d.default === undefined)
    .map(([k]) => k);
  const compiled = compile(objectSchema(decls, required));
  if ("problem" in compiled) return { values, problems: [compiled.problem] };
  const { validate } = compiled;
  return validate(values) ? { values, problems: [] } : { values, problems: problems(validate.errors, decls) };
}

function compile(schema: object): { validate: ValidateFunction } | { problem: ParameterProblem } {
  try {
    return { validate: compileDynamicSchema(schema) };
  } catch (err) {
    // Only a declaration ajv cannot use gets here, e.g. `pattern: "([a-z"`.
    return {
      problem: { name: "", message: `parameter declarations are unusable: ${(err as Error).message}` },
    };
  }
}

const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off"]);

/** Converts a command-line string to a declared type: `5` -> 5, `AAPL,MSFT` -> ["AAPL","MSFT"]. */
export function coerceParameter(
  decl: Pick<ParameterDeclaration, "type" | "items">,
  text: string,
): { value: unknown } | { error: string } {
  const t = text.trim();
  switch (decl.type) {
    case "string":
    case "date":
      return { value: text };
    case "integer":
    case "number": {
      const n = t === "" ? Number.NaN : Number(t);
      if (!Number.isFinite(n))
        return { error: `expected ${decl.type === "integer" ? "an integer" : "a number"}, got "${text}"` };
      if (decl.type === "integer" && !Number.isInteger(n))
        return { error: `expected an integer, got "${text}"` };
      return { value: n };
    }
    case "boolean":
      if (TRUE_WORDS.has(t.toLowerCase())) return { value: true };
      if (FALSE_WORDS.has(t.toLowerCase())) return { value: false };
      return { error: `expected true or false, got "${text}"` };
    case "array": {
      if (t.startsWith("[")) return parseJson(t, "a JSON list");
      if (t === "") return { value: [] };
      const items = t.split(",").map((s) => s.trim());
      if (!decl.items) return { value: items };
      const out: unknown[] = [];
      for (const item of items) {
        const c = coerceParameter({ type: decl.items.type }, item);
        if ("error" in c) return { error: `item "${item}": ${c.error}` };
        out.push(c.value);
      }
      return { value: out };
    }
    case "object":
      return parseJson(t, "a JSON object");
  }
}

function parseJson(text: string, what: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { error: `expected ${what}, got "${text.length > 60 ? `${text.slice(0, 60)}…` : text}"` };
  }
}
