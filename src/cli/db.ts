import { loadSettings } from "../config/settings.js";
import { duckdbOnlyCommand } from "../store/errors.js";
import {
  type AnyStore,
  LATEST_VERSION,
  openAnyStore,
  openStore,
  type Store,
  StoreError,
} from "../store/index.js";
import { type DuckDbInfo, duckdbInfo } from "../store/info.js";
import type { PgInfo } from "../store/pg/info.js";
import type { PgStore } from "../store/pg/pool.js";
import { isPostgresUrl, maskDatabaseUrl } from "../store/pg/url.js";
import { checkDbFlag } from "./control.js";
import { ReportedFailure, UsageError } from "./output.js";

/** Opens the database for a command; a locked or unreadable file is a clear one-line error (exit 1). */
export function openStoreForCli(path: string, options: { readOnly?: boolean } = {}): Promise<Store> {
  return openStore(path, options).catch((err: unknown) => reportOpenError(path, err));
}

/** `openStoreForCli` for the verbs that work on PostgreSQL too (`path` may be a URL). */
export function openAnyStoreForCli(path: string, options: { readOnly?: boolean } = {}): Promise<AnyStore> {
  return openAnyStore(path, options).catch((err: unknown) => reportOpenError(path, err));
}

function reportOpenError(path: string, err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  // Store errors name the database and the reason already (a URL's password masked).
  process.stderr.write(
    `tickflow: ${err instanceof StoreError ? message : `cannot open database ${maskDatabaseUrl(path)}: ${message}`}\n`,
  );
  throw new ReportedFailure();
}

/** `--db`, else the settings' TICKFLOW_DB (default ./tickflow.duckdb): a DuckDB file, for the verbs that need one. */
export function databasePath(flag: string | undefined): string {
  const location = databaseLocation(flag);
  const problem = duckdbOnlyCommand(location);
  if (problem) throw new UsageError(`${flag === undefined ? "TICKFLOW_DB" : "--db"}: ${problem}`);
  return location;
}

/** `--db`, else TICKFLOW_DB: a DuckDB file path or a `postgresql://` URL (the verbs that work on both). */
export function databaseLocation(flag: string | undefined): string {
  checkDbFlag(flag);
  return flag ?? loadSettings().TICKFLOW_DB;
}

/** Runs `work` with the database open, and closes it afterwards whatever happens. */
export async function withStore<T>(
  path: string,
  options: { readOnly?: boolean },
  work: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await openStoreForCli(path, options);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** Text with the passwords it might hold (the URL's, PGPASSWORD) masked. */
export function scrubSecrets(text: string, location: string): string {
  let out = text;
  const secrets: string[] = [];
  if (process.env.PGPASSWORD) secrets.push(process.env.PGPASSWORD);
  try {
    const url = new URL(location);
    if (url.password) secrets.push(url.password, decodeURIComponent(url.password));
    const param = url.searchParams.get("password");
    if (param) secrets.push(param);
  } catch {
    // not a URL: a path holds no password
  }
  for (const secret of secrets.filter((s) => s.length > 0)) out = out.split(secret).join("***");
  return out;
}

/** A failure of `db info` / `db migrate` as one line naming the database (exit 1), never a password. */
function fail(err: unknown, location: string, verb: string): never {
  const shown = isPostgresUrl(location) ? maskDatabaseUrl(location) : location;
  const message = err instanceof Error ? err.message : String(err);
  // Store errors name the database already (the URL masked).
  const line = err instanceof StoreError ? message : `cannot ${verb} database ${shown}: ${message}`;
  process.stderr.write(`tickflow: ${scrubSecrets(line, location)}\n`);
  throw new ReportedFailure();
}

/** Runs `work` over a pool of one connection on the PostgreSQL database `url`, closed afterwards. */
async function withPgStore<T>(url: string, work: (store: PgStore) => Promise<T>): Promise<T> {
  const { openPgPool } = await import("../store/pg/pool.js");
  const store = await openPgPool(url, { max: 1 });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** `tickflow db info`: the backend, its version, the schema version, the database. */
export async function dbInfoCommand(opts: { json?: boolean; db?: string }): Promise<number> {
  const location = databaseLocation(opts.db);
  let info: DuckDbInfo | PgInfo;
  try {
    if (isPostgresUrl(location)) {
      const { pgInfo } = await import("../store/pg/info.js");
      info = await withPgStore(location, pgInfo);
    } else info = await duckdbInfo(location);
  } catch (err) {
    fail(err, location, "read");
  }
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          backend: info.backend,
          version: info.serverVersion,
          schema_version: info.schemaVersion,
          latest_schema_version: info.latestVersion,
          database: info.location,
        },
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  const schema =
    info.schemaVersion === info.latestVersion
      ? `${info.schemaVersion} (up to date)`
      : info.schemaVersion < info.latestVersion
        ? `${info.schemaVersion} (this tickflow: ${info.latestVersion}; run tickflow db migrate)`
        : `${info.schemaVersion} (newer than this tickflow: ${info.latestVersion}; upgrade tickflow)`;
  process.stdout.write(
    [
      `backend:  ${info.backend === "duckdb" ? "duckdb" : "postgresql"}`,
      `version:  ${info.backend === "duckdb" ? "DuckDB" : "PostgreSQL"} ${info.serverVersion}`,
      `schema:   ${schema}`,
      `database: ${info.location}`,
      "",
    ].join("\n"),
  );
  return 0;
}

/** `tickflow db migrate`: applies the missing migrations (DuckDB: opening for writing does). */
export async function dbMigrateCommand(opts: { json?: boolean; db?: string }): Promise<number> {
  const location = databaseLocation(opts.db);
  let result: {
    backend: "duckdb" | "postgresql";
    from: number;
    to: number;
    applied: { version: number; name: string }[];
    database: string;
  };
  try {
    if (isPostgresUrl(location)) {
      const { migratePg } = await import("../store/pg/migrate.js");
      result = await withPgStore(location, async (store) => ({
        backend: "postgresql" as const,
        ...(await migratePg(store.pool)),
        database: store.display,
      }));
    } else {
      const store = await openStore(location);
      try {
        const done = store.migrated ?? { from: LATEST_VERSION, to: LATEST_VERSION, applied: [] };
        result = { backend: "duckdb", ...done, database: store.path };
      } finally {
        await store.close();
      }
    }
  } catch (err) {
    fail(err, location, "migrate");
  }
  const applied = result.applied.map((m) => ({ version: m.version, name: m.name }));
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ backend: result.backend, database: result.database, from: result.from, to: result.to, applied }, null, 2)}\n`,
    );
    return 0;
  }
  if (applied.length === 0) {
    process.stdout.write(`database ${result.database}: schema version ${result.to}, up to date\n`);
    return 0;
  }
  const lines = applied.map((m) => `  ${m.version}  ${m.name}\n`).join("");
  process.stdout.write(
    `database ${result.database}: schema version ${result.from} -> ${result.to}\n${lines}`,
  );
  return 0;
}
