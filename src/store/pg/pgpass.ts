/**
 * The password file of libpq (`~/.pgpass`, or `PGPASSFILE`): lines `host:port:database:user:password`,
 * `*` matching anything, `\:` and `\\` escaped. A small reader of our own: `pg` 8's built-in
 * support (the `pgpass` package) is deprecated, prints a notice, and goes in `pg` 9.
 *
 * As libpq does, a file that the group or others may read is ignored (`reason` says so), and a
 * connection over a Unix socket matches the host `localhost`.
 */
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface PgpassLookup {
  password?: string;
  /** Why the file was not used, when it exists but was not (its mode). */
  ignored?: string;
  file: string;
}

/** The file libpq would read. */
export function pgpassFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.PGPASSFILE || join(env.HOME || homedir(), ".pgpass");
}

/** Splits a line on its unescaped colons, unescaping `\:` and `\\`. */
function fields(line: string): string[] {
  const out: string[] = [];
  let current = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "\\" && i + 1 < line.length) current += line[++i];
    else if (c === ":") {
      out.push(current);
      current = "";
    } else current += c;
  }
  out.push(current);
  return out;
}

/** The password of the first line matching the connection, if any. */
export function lookupPgpass(
  target: { host: string; port: number; database: string; user: string },
  env: NodeJS.ProcessEnv = process.env,
): PgpassLookup {
  const file = pgpassFile(env);
  let text: string;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return { file };
    if (process.platform !== "win32" && (stat.mode & 0o077) !== 0) {
      return { file, ignored: `${file} may be read by others (chmod 600 it)` };
    }
    text = readFileSync(file, "utf8");
  } catch {
    return { file };
  }
  const host = target.host.startsWith("/") ? "localhost" : target.host;
  const wanted = [host, String(target.port), target.database, target.user];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const parts = fields(line);
    if (parts.length < 5) continue;
    if (wanted.every((value, i) => parts[i] === "*" || parts[i] === value)) {
      return { file, password: parts.slice(4).join(":") };
    }
  }
  return { file };
}
