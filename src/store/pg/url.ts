/**
 * `TICKFLOW_DB=postgresql://user@host:port/db?sslmode=...`: parsed into the connection options the
 * `pg` pool is given, and shown (in every message) with its password masked.
 */
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import type { ConnectionOptions } from "node:tls";
import { StoreError } from "../errors.js";

const SCHEME_RE = /^(postgres|postgresql):\/\//i;

/** Whether `location` (TICKFLOW_DB or `--db`) names a PostgreSQL database. */
export function isPostgresUrl(location: string): boolean {
  return SCHEME_RE.test(location);
}

/** libpq's `sslmode` words. */
export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** The query parameters understood (others are refused: a typo must not go unnoticed). */
const KNOWN_PARAMS = [
  "sslmode",
  "sslrootcert",
  "host",
  "port",
  "password",
  "application_name",
  "connect_timeout",
];

/** Where and how to connect; `password` only when the URL holds one. */
export interface PgConnection {
  host: string;
  port: number;
  database: string;
  user: string;
  /** From the URL (`user:password@` or `?password=`); otherwise PGPASSWORD or ~/.pgpass (pool.ts). */
  password?: string;
  sslmode: SslMode;
  /** What `pg` is given as `ssl`: false, or the TLS options sslmode asks for. */
  ssl: false | ConnectionOptions;
  applicationName: string;
  /** Seconds to wait for a connection (`connect_timeout`; default 10). */
  connectTimeout: number;
  /** `host:port/database`, to name the database in messages. */
  where: string;
  /** The URL with its password masked (`***`): safe to print. */
  display: string;
}

/**
 * The URL with any password replaced by `***` (in `user:password@` and `?password=`). A URL that does
 * not parse is shown as its scheme alone: nothing in it can be trusted not to be a password.
 */
export function maskDatabaseUrl(location: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1];
  if (scheme === undefined) return location;
  try {
    const url = new URL(location);
    if (url.password) url.password = "***";
    if (url.searchParams.has("password")) url.searchParams.set("password", "***");
    return url.toString().replace("password=%2A%2A%2A", "password=***");
  } catch {
    return `${scheme}://...`;
  }
}

function invalid(location: string, reason: string): StoreError {
  const shown = maskDatabaseUrl(location);
  return new StoreError(`invalid PostgreSQL URL ${shown}: ${reason}`, shown);
}

/**
 * Parses a `postgresql://` (or `postgres://`) URL. What the URL leaves out comes from libpq's
 * variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGSSLMODE), then libpq's defaults (localhost, 5432,
 * the user's name). `sslmode`: `disable`, `allow` and `prefer` connect without TLS (`pg` cannot fall
 * back from TLS to plain, so `prefer` does not try TLS first); `require` encrypts without checking
 * the certificate; `verify-ca` checks it against `sslrootcert` (or the system's CAs); `verify-full`
 * also checks the host name.
 *
 * @throws StoreError (with the URL masked) for a URL that is not one.
 */
export function parsePostgresUrl(location: string, env: NodeJS.ProcessEnv = process.env): PgConnection {
  if (!isPostgresUrl(location)) throw invalid(location, "it must start with postgresql:// or postgres://");
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw invalid(location, "it does not parse as a URL");
  }
  const params = url.searchParams;
  for (const name of params.keys()) {
    if (!KNOWN_PARAMS.includes(name)) {
      throw invalid(location, `unknown parameter ${name} (known: ${KNOWN_PARAMS.join(", ")})`);
    }
  }
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw invalid(location, "a bad %-escape");
    }
  };
  const host =
    params.get("host") || decode(url.hostname).replace(/^\[(.*)\]$/, "$1") || env.PGHOST || "localhost";
  const portText = params.get("port") || url.port || env.PGPORT || "5432";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw invalid(location, `port ${portText} is not a port`);
  const user = decode(url.username) || env.PGUSER || userInfo().username;
  const database = decode(url.pathname.replace(/^\//, "")) || env.PGDATABASE || user;
  if (database.includes("/")) throw invalid(location, "the database name is one path segment");
  const password = url.password ? decode(url.password) : (params.get("password") ?? undefined);
  const mode = (params.get("sslmode") || env.PGSSLMODE || "prefer") as SslMode;
  if (!SSL_MODES.includes(mode))
    throw invalid(location, `sslmode ${mode} is not one of ${SSL_MODES.join(", ")}`);
  const timeoutText = params.get("connect_timeout") ?? "10";
  const connectTimeout = Number(timeoutText);
  if (!Number.isFinite(connectTimeout) || connectTimeout < 0)
    throw invalid(location, `connect_timeout ${timeoutText} is not a number of seconds`);
  return {
    host,
    port,
    database,
    user,
    ...(password !== undefined ? { password } : {}),
    sslmode: mode,
    ssl: sslOptions(mode, params.get("sslrootcert"), location),
    applicationName: params.get("application_name") || "tickflow",
    connectTimeout,
    where: `${host.includes(":") ? `[${host}]` : host}:${port}/${database}`,
    display: maskDatabaseUrl(location),
  };
}

function sslOptions(mode: SslMode, rootcert: string | null, location: string): false | ConnectionOptions {
  if (mode === "disable" || mode === "allow" || mode === "prefer") return false;
  if (mode === "require") return { rejectUnauthorized: false };
  let ca: string | undefined;
  if (rootcert) {
    try {
      ca = readFileSync(rootcert, "utf8");
    } catch (err) {
      throw invalid(
        location,
        `cannot read sslrootcert ${rootcert}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    }
  }
  return {
    rejectUnauthorized: true,
    ...(ca !== undefined ? { ca } : {}),
    // verify-ca: the chain is checked, the host name is not.
    ...(mode === "verify-ca" ? { checkServerIdentity: () => undefined } : {}),
  };
}
