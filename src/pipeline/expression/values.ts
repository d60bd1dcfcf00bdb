import { errorAt, type Span } from "./errors.js";

/** How deep `==` and `contains` descend into values (from_json can build arbitrarily deep ones). */
const MAX_VALUE_DEPTH = 1000;

/** null, false, 0, NaN and '' are falsy; everything else (an empty list too) is truthy. */
export function isTruthy(value: unknown): boolean {
  return (
    value !== null &&
    value !== undefined &&
    value !== false &&
    value !== 0 &&
    value !== "" &&
    !Number.isNaN(value)
  );
}

/** Strict for primitives (`1 == '1'` is false), structural for lists and objects. */
export function deepEqual(a: unknown, b: unknown, at: Span, depth = 0): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (depth > MAX_VALUE_DEPTH) throw errorAt("values are nested too deeply to compare", at);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => deepEqual(item ?? null, b[i] ?? null, at, depth + 1));
  }
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  const keys = Object.keys(aRecord);
  if (keys.length !== Object.keys(bRecord).length) return false;
  return keys.every(
    (key) => Object.hasOwn(bRecord, key) && deepEqual(aRecord[key], bRecord[key], at, depth + 1),
  );
}

/** "a string", "a list", ... for error messages. */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

/** Compact JSON; values JSON cannot represent (cycles, bigint) are an error at `at`. */
export function toJson(value: unknown, at: Span): string {
  try {
    return JSON.stringify(value ?? null) ?? "null";
  } catch (cause) {
    throw errorAt(`cannot convert ${describeType(value)} to JSON`, at, { cause });
  }
}

/** How a value appears inside a string: strings as is, null as '', lists and objects as JSON. */
export function toText(value: unknown, at: Span): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return toJson(value, at);
  return String(value);
}
