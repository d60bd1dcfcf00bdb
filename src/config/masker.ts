import { SECRET_SETTINGS } from "./settings.js";

/**
 * Secret values kept out of whatever leaves a run (log lines, outputs, errors, the terminal, the
 * daemon's log), as GitHub Actions does: each reads `***`. A run builds one `Masker` from its
 * environment (`maskerOf`); the values of its steps' secret parameters are added as they are used.
 */
export const MASK = "***";

/** Names whose values are secrets, besides those listed in TICKFLOW_SECRET_VARS. */
const SECRET_NAME = /_(KEY|TOKEN|SECRET|PASSWORD)$/i;
/** Shorter values are left alone: masking "1" or "abc" would garble ordinary text. */
const MIN_LENGTH = 4;

/** TICKFLOW_SECRET_VARS of an environment: more variable names, comma-separated. */
export function listedSecretVars(env: Readonly<Record<string, string | undefined>>): Set<string> {
  const names = (env.TICKFLOW_SECRET_VARS ?? "").split(",").map((name) => name.trim());
  return new Set(names.filter(Boolean));
}

/** Whether a variable's value is a secret: its name (`*_KEY`, `*_TOKEN`, ...), or listed. */
export function isSecretVariable(name: string, listed: ReadonlySet<string> = new Set()): boolean {
  return SECRET_NAME.test(name) || (SECRET_SETTINGS as readonly string[]).includes(name) || listed.has(name);
}

/** Replaces known secret values in text and in JSON-like values. */
export class Masker {
  /** Every form of every secret, longest first (a secret inside a longer one must not leave a tail). */
  private forms: string[] = [];
  private pattern: RegExp | undefined;

  constructor(values: Iterable<unknown> = []) {
    this.add(values);
  }

  /** Masks these values too (strings of 4 characters or more; anything else is ignored). */
  add(values: Iterable<unknown>): void {
    let known: Set<string> | undefined;
    for (const value of values) {
      if (typeof value !== "string") continue;
      known ??= new Set(this.forms);
      // As written, trimmed (keys read from files), in a URL and inside a JSON string.
      const trimmed = value.trim();
      for (const form of [value, trimmed, encodeURIComponent(trimmed), JSON.stringify(trimmed).slice(1, -1)])
        if (form.length >= MIN_LENGTH) known.add(form);
    }
    if (known === undefined || known.size === this.forms.length) return;
    this.forms = [...known].sort((a, b) => b.length - a.length);
    this.pattern = new RegExp(this.forms.map(escapeRegExp).join("|"), "g");
  }

  /** Whether there is anything to mask. */
  get active(): boolean {
    return this.pattern !== undefined;
  }

  mask(text: string): string {
    if (this.pattern === undefined) return text;
    // A few `includes` cost less than the regex on the usual text that holds no secret.
    for (const form of this.forms) if (text.includes(form)) return text.replace(this.pattern, MASK);
    return text;
  }

  /** Strings masked anywhere in arrays and plain objects (keys too); unchanged parts are not copied. */
  maskValue<T>(value: T): T {
    if (this.pattern === undefined) return value;
    return this.walk(value) as T;
  }

  private walk(value: unknown): unknown {
    if (typeof value === "string") return this.mask(value);
    if (Array.isArray(value)) {
      const out = value.map((v) => this.walk(v));
      return out.some((v, i) => v !== value[i]) ? out : value;
    }
    if (value === null || typeof value !== "object") return value;
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value; // Dates, buffers: no secret text
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const key = this.mask(k);
      const masked = this.walk(v);
      changed ||= key !== k || masked !== v;
      out[key] = masked;
    }
    return changed ? out : value;
  }
}

/** The masker of a run or process: the values of its environment's secret variables. */
export function maskerOf(env: Readonly<Record<string, string | undefined>>): Masker {
  const listed = listedSecretVars(env);
  const values: string[] = [];
  for (const [name, value] of Object.entries(env))
    if (value !== undefined && isSecretVariable(name, listed)) values.push(value);
  return new Masker(values);
}

/** The environment as `env` reads as a whole value (`to_json(env)`): secret values masked. */
export function maskedEnv(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  const listed = listedSecretVars(env);
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env))
    out[name] = value !== undefined && isSecretVariable(name, listed) ? MASK : value;
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
