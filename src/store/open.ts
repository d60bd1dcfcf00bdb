import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { crashRuns } from "./crash-runs.js";
import { duckdbOnlyCommand, fileInTheWay, openError, StoreError, unsupportedDatabaseUrl } from "./errors.js";
import { runsWithoutHolder } from "./leases.js";
import { LATEST_VERSION, type MigrateResult, migrate, SchemaTooNewError, schemaVersion } from "./migrate.js";

/** An open database: the DuckDB instance, its main connection, and a way to let go of the file. */
export interface Store {
  /** Absolute path of the database file (or `:memory:`). */
  path: string;
  instance: DuckDBInstance;
  /** The main connection. */
  db: DuckDBConnection;
  /**
   * Another connection to the same database, closed with the store. Each connection runs one
   * statement at a time and `interrupt()` stops whatever its connection runs: give concurrent work
   * (the run recorder, each running task) a connection of its own.
   */
  connect(): Promise<DuckDBConnection>;
  /** Closes a connection from `connect()` before the store closes (long-lived processes). */
  release(connection: DuckDBConnection): void;
  /**
   * A step's work runs statements on `connection` (busy), or no more: `close()` leaves a busy
   * connection alone. DuckDB deadlocks when a connection is closed under a running statement.
   */
  markBusy(connection: DuckDBConnection, busy: boolean): void;
  /**
   * Runs found holding a slot when the file was opened for writing, now marked Crashed: DuckDB lets
   * one process write the file, so whoever ran them has died (a `kill -9` of `tickflow run`, a
   * daemon's crash).
   */
  readonly crashedAtOpen: readonly string[];
  /** What opening for writing migrated (`from` = `to`, nothing applied, when it was up to date). */
  readonly migrated?: MigrateResult;
  /** Closes every connection and the instance, releasing the file lock. Safe to call twice. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Open without writing (no migrations); other read-only processes may open the file too. */
  readOnly?: boolean;
}

const MEMORY = ":memory:";

/**
 * Files this process has open. DuckDB's file lock is per process, so a second instance on the same
 * file in the same process would not be refused, and two instances writing one file corrupt it.
 */
const openPaths = new Set<string>();

/** Stores by their main connection (see `storeOfMainConnection`). */
const storesByConnection = new WeakMap<DuckDBConnection, Store>();

/**
 * The store whose main connection `db` is, if any. Work that must not share that connection (the
 * steps' statements run on it) can open its own with `store.connect()`.
 */
export function storeOfMainConnection(db: DuckDBConnection): Store | undefined {
  return storesByConnection.get(db);
}

/**
 * Opens (creating it and its parent folders if needed) the database at `path` and brings its schema
 * up to date. Nothing is ever downloaded: DuckDB's extension autoinstall and autoload are off.
 *
 * @throws StoreLockedError when another process holds the file.
 * @throws StoreError for anything else (not a DuckDB file, permission, schema version).
 */
export async function openStore(path: string, options: OpenOptions = {}): Promise<Store> {
  const readOnly = options.readOnly === true;
  // Before resolve(): a URL would become a folder named "postgresql:".
  const url = unsupportedDatabaseUrl(path) ?? duckdbOnlyCommand(path);
  if (url) throw new StoreError(url, `${path.slice(0, path.indexOf("://"))}://...`);
  const absolute = path === MEMORY ? MEMORY : resolve(path);
  const config: Record<string, string> = {
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
  };
  if (readOnly) {
    if (absolute === MEMORY)
      throw new StoreError("an in-memory database cannot be opened read-only", absolute);
    if (!existsSync(absolute)) {
      const file = fileInTheWay(absolute);
      throw new StoreError(
        file
          ? `cannot open database ${absolute}: ${file} is a file, not a folder`
          : `database ${absolute} does not exist (run a pipeline first to create it)`,
        absolute,
      );
    }
    config.access_mode = "READ_ONLY";
  } else if (absolute !== MEMORY) {
    try {
      mkdirSync(dirname(absolute), { recursive: true });
    } catch (err) {
      const reason = mkdirReason(absolute, err);
      throw new StoreError(`cannot create the folder of database ${absolute}: ${reason}`, absolute, {
        cause: err,
      });
    }
  }

  if (openPaths.has(absolute)) {
    throw new StoreError(
      `database ${absolute} is already open in this process: use that store, or close it first`,
      absolute,
    );
  }
  // Reserved before the first await: two concurrent opens of one file must not both get through.
  if (absolute !== MEMORY) openPaths.add(absolute);
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(absolute, config);
  } catch (err) {
    openPaths.delete(absolute);
    throw openError(absolute, err);
  }
  const connections: DuckDBConnection[] = [];
  const busy = new Set<DuckDBConnection>();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const connection of connections.splice(0)) {
      if (busy.has(connection)) continue;
      try {
        connection.closeSync();
      } catch {
        // already closed
      }
    }
    // A step that ignored its cancel still runs on a connection: leave it and the instance to the
    // process's end (the file lock goes with the process; what was committed is in the WAL).
    if (busy.size === 0) instance.closeSync();
    openPaths.delete(absolute);
  };

  try {
    const db = await instance.connect();
    connections.push(db);
    let crashedAtOpen: string[] = [];
    let migrated: MigrateResult | undefined;
    if (readOnly) await checkSchema(db, absolute);
    else {
      migrated = await applyMigrations(db, absolute);
      const now = new Date();
      crashedAtOpen = await crashRuns(
        db,
        await runsWithoutHolder(db, now, { all: true }),
        now,
        "crashed: its process ended while it ran (found when the database was next opened)",
      );
    }
    const store: Store = {
      path: absolute,
      instance,
      db,
      async connect() {
        if (closed) throw new StoreError(`database ${absolute} is closed`, absolute);
        const connection = await instance.connect();
        connections.push(connection);
        return connection;
      },
      release(connection) {
        const at = connections.indexOf(connection);
        if (at < 0) return; // closed with the store already
        connections.splice(at, 1);
        connection.closeSync();
      },
      crashedAtOpen,
      ...(migrated ? { migrated } : {}),
      markBusy(connection, isBusy) {
        if (isBusy) busy.add(connection);
        else busy.delete(connection);
      },
      close,
    };
    storesByConnection.set(db, store);
    return store;
  } catch (err) {
    await close();
    throw openError(absolute, err);
  }
}

/** Why the folders of `path` could not be made, in words (not `EEXIST: file already exists, mkdir`). */
function mkdirReason(path: string, err: unknown): string {
  const file = fileInTheWay(path);
  if (file) return `${file} is a file, not a folder`;
  const { code, path: at } = err as NodeJS.ErrnoException;
  if ((code === "EACCES" || code === "EROFS") && at) return `the folder ${dirname(at)} is read-only`;
  return err instanceof Error ? err.message : String(err);
}

async function applyMigrations(db: DuckDBConnection, path: string): Promise<MigrateResult> {
  try {
    return await migrate(db);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new StoreError(`cannot open database ${path}: ${reason}`, path, { cause: err });
  }
}

/** Read-only: the code cannot migrate, so the schema must already be the one it expects. */
async function checkSchema(db: DuckDBConnection, path: string): Promise<void> {
  const version = await schemaVersion(db);
  if (version > LATEST_VERSION) {
    throw new StoreError(
      `cannot open database ${path}: ${new SchemaTooNewError(version, LATEST_VERSION).message}`,
      path,
    );
  }
  if (version < LATEST_VERSION) {
    throw new StoreError(
      version === 0
        ? `database ${path} is not a tickflow database (no schema_migrations table)`
        : `database ${path} has schema version ${version}, older than this tickflow needs (${LATEST_VERSION}): open it once for writing (e.g. run a pipeline or start the daemon) to migrate it`,
      path,
    );
  }
}
