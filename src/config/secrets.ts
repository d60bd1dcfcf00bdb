/** Keys whose values are secrets; they must be `${{ env.NAME }}`, never literals in a file. */
const SECRET_KEY = /(^|_|-)(api_?key|apikey|access_?key|secret(_?key)?|token|password|passwd)$/i;
const ENV_EXPRESSION = /^\s*\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$/;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** True when a value written under a secret key is acceptable: absent, empty, or `${{ env.X }}`. */
export function isSecretReference(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    value === "" ||
    (typeof value === "string" && ENV_EXPRESSION.test(value))
  );
}

/** NAME of a value written `${{ env.NAME }}`, else undefined. */
export function envReferenceName(value: unknown): string | undefined {
  return typeof value === "string" ? ENV_EXPRESSION.exec(value)?.[1] : undefined;
}

/** Paths of literal secrets anywhere under `value` (keys that look like secrets holding literals). */
export function findLiteralSecrets(
  value: unknown,
  path: (string | number)[] = [],
  extraKeys: (path: (string | number)[]) => boolean = () => false,
): { path: (string | number)[]; key: string }[] {
  const found: { path: (string | number)[]; key: string }[] = [];
  const walk = (v: unknown, p: (string | number)[]) => {
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) walk(x, [...p, i]);
    } else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        const kp = [...p, k];
        if ((isSecretKey(k) || extraKeys(kp)) && typeof x !== "object" && !isSecretReference(x))
          found.push({ path: kp, key: k });
        else walk(x, kp);
      }
    }
  };
  walk(value, path);
  return found;
}

export function literalSecretMessage(key: string): string {
  const suggested = /polygon|api_?key/i.test(key)
    ? "POLYGON_API_KEY"
    : key.toUpperCase().replaceAll("-", "_");
  return `"${key}" holds a literal secret: secrets must come from the environment, e.g. \${{ env.${suggested} }}`;
}
