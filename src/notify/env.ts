/**
 * Secrets at send time: a channel's `${{ env.NAME }}` references resolved from the daemon's
 * environment, and a masker of the values so that no error, log line or outbox row quotes them.
 */
import { Masker } from "../config/masker.js";

const ENV_REFERENCE = /\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export class MissingVariable extends Error {
  override name = "MissingVariable";
}

/** Text with each `${{ env.NAME }}` replaced by its value; a variable unset or empty is an error naming it. */
export function resolveEnv(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(ENV_REFERENCE, (_, name: string) => {
    const value = env[name];
    if (value === undefined || value === "")
      throw new MissingVariable(`environment variable ${name} is not set`);
    return value;
  });
}

/** A channel definition with every string resolved, and the masker of what was resolved. */
export function resolveChannel<T>(
  definition: T,
  env: Readonly<Record<string, string | undefined>>,
): { resolved: T; masker: Masker } {
  const secrets: string[] = [];
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") {
      const out = resolveEnv(v, env);
      if (out !== v) {
        secrets.push(out);
        // The parts that came from the environment, too (a header "Bearer ${{ env.T }}").
        for (const m of v.matchAll(ENV_REFERENCE)) secrets.push(env[m[1]!] ?? "");
      }
      return out;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object")
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const resolved = walk(definition) as T;
  return { resolved, masker: new Masker(secrets.filter(Boolean)) };
}
