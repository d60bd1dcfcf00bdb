/**
 * Why a connection to PostgreSQL failed, in words: a refused connection, a wrong password, a missing
 * database or role, TLS. Each message names `host:port/database`, never the password (a server's own
 * words never hold it), and the CLI prints it as one line without a stack.
 */
import { StoreError } from "../errors.js";
import type { PgConnection } from "./url.js";

interface PgLikeError {
  code?: string;
  message?: string;
  errors?: PgLikeError[];
}

/** The first errno/SQLSTATE in `err` (Node gives an AggregateError when every address failed). */
function codeOf(err: PgLikeError): string | undefined {
  return err.code ?? err.errors?.find((e) => e.code)?.code;
}

/** A `StoreError` (path: the masked URL) saying why connecting to `conn` failed. */
export function pgConnectError(conn: PgConnection, err: unknown, passwordSource?: string): StoreError {
  if (err instanceof StoreError) return err;
  const e = (err ?? {}) as PgLikeError;
  const code = codeOf(e);
  const message = e.message || String(err);
  const at = `PostgreSQL at ${conn.where}`;
  let reason: string;
  switch (code) {
    case "ECONNREFUSED":
      reason = `cannot connect to ${at}: connection refused (is the server running and listening on port ${conn.port}?)`;
      break;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      reason = `cannot connect to ${at}: unknown host ${conn.host}`;
      break;
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      reason = `cannot connect to ${at}: the host does not answer (${code})`;
      break;
    case "28P01":
      reason = `cannot connect to ${at}: password authentication failed for user ${conn.user}${passwordSource ? ` (the password from ${passwordSource})` : ""}`;
      break;
    case "28000":
      // pg_hba.conf has no line for this host/user/database, or the role does not exist.
      reason = `cannot connect to ${at}: ${message}`;
      break;
    case "3D000":
      reason = `cannot connect to ${at}: database ${conn.database} does not exist (create it: createdb ${conn.database})`;
      break;
    case "53300":
      reason = `cannot connect to ${at}: the server has too many connections`;
      break;
    case "57P03":
      reason = `cannot connect to ${at}: the server is starting up or shutting down`;
      break;
    default:
      if (/client password must be a string|password authentication failed|no password/i.test(message)) {
        reason = `cannot connect to ${at}: the server asks for a password for user ${conn.user} and none was given (set PGPASSWORD, or add a line to ~/.pgpass)`;
      } else if (/connection timeout|timeout expired/i.test(message)) {
        reason = `cannot connect to ${at}: no answer within ${conn.connectTimeout} s`;
      } else if (/does not support SSL/i.test(message)) {
        reason = `cannot connect to ${at}: the server does not support TLS (sslmode=${conn.sslmode})`;
      } else if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
        reason = `cannot connect to ${at}: its TLS certificate is not trusted (${code}; sslmode=${conn.sslmode})`;
      } else {
        reason = `cannot connect to ${at}: ${message}`;
      }
  }
  return new StoreError(reason, conn.display, { cause: err });
}
