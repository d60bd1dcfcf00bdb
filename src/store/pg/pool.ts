/**
 * The PostgreSQL store's connections: a `pg.Pool` over a parsed `postgresql://` URL, checked by
 * connecting once at open, so that a refused connection, a wrong password or a missing database is
 * a clear error there (`pgConnectError`), not at the first statement.
 *
 * The password: the URL's, else PGPASSWORD, else the matching line of ~/.pgpass (or PGPASSFILE),
 * read when the server asks for one (`pgpass.ts`).
 */
import pg from "pg";
import { openStore, type Store } from "../open.js";
import { pgConnectError } from "./connect-error.js";
import { lookupPgpass } from "./pgpass.js";
import { type PgConnection, parsePostgresUrl } from "./url.js";

export interface PgStore {
  backend: "postgresql";
  connection: PgConnection;
  /** The URL with its password masked: what messages show. */
  display: string;
  pool: pg.Pool;
  /**
   * An in-memory DuckDB (tickflow's schema, empty), opened at first use and closed with the store:
   * where steps compute what DuckDB computes best (reading Parquet and CSV files, the quality
   * checks, archives) before their results go to PostgreSQL. Each task gets connections of its
   * own (`connect()`); what it stages there goes in TEMP tables (per connection), never in the
   * shared tables.
   */
  scratch(): Promise<Store>;
  /** Ends every connection of the pool. Safe to call twice. */
  close(): Promise<void>;
}

export interface PgOpenOptions {
  env?: NodeJS.ProcessEnv;
  /** Most connections at once (default 10). */
  max?: number;
}

/**
 * Opens a pool on `url` and connects once.
 *
 * @throws StoreError (the URL masked) when the URL is invalid or the server cannot be reached,
 *   refuses the login, or has no such database.
 */
export async function openPgPool(url: string, options: PgOpenOptions = {}): Promise<PgStore> {
  const env = options.env ?? process.env;
  const conn = parsePostgresUrl(url, env);
  let passwordSource: string | undefined;
  let password: string | (() => Promise<string>) | undefined;
  if (conn.password !== undefined) {
    password = conn.password;
    passwordSource = "the URL";
  } else if (env.PGPASSWORD) {
    password = env.PGPASSWORD;
    passwordSource = "PGPASSWORD";
  } else {
    // Asked only when the server wants a password; pg treats undefined as "none".
    password = async () => {
      const found = lookupPgpass(conn, env);
      if (found.password !== undefined) passwordSource = found.file;
      return found.password as string;
    };
  }
  const pool = new pg.Pool({
    host: conn.host,
    port: conn.port,
    database: conn.database,
    user: conn.user,
    ...(password !== undefined ? { password } : {}),
    ssl: conn.ssl,
    application_name: conn.applicationName,
    connectionTimeoutMillis: conn.connectTimeout * 1000,
    max: options.max ?? 10,
  });
  // An idle connection that the server ends (a restart, an admin's pg_terminate_backend) is dropped
  // by the pool; without a listener the event would end the process.
  pool.on("error", () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw pgConnectError(conn, err, passwordSource);
  }
  let closed = false;
  let scratch: Promise<Store> | undefined;
  return {
    backend: "postgresql",
    connection: conn,
    display: conn.display,
    pool,
    scratch() {
      // A daemon's or worker's scratch lives as long as the process: freed memory goes back to the
      // system sooner than DuckDB's defaults (128 MiB kept in the allocator's caches).
      scratch ??= openStore(":memory:").then(async (s) => {
        await s.db.run("SET allocator_flush_threshold = '16MiB'");
        return s;
      });
      return scratch;
    },
    async close() {
      if (closed) return;
      closed = true;
      const opened = scratch;
      scratch = undefined;
      await opened?.then((s) => s.close()).catch(() => undefined);
      await pool.end();
    },
  };
}
