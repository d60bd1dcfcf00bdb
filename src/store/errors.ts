/**
 * Errors of opening and writing the store, with messages meant for users (the CLI prints them
 * without a stack).
 */
import { accessSync, constants, statSync } from "node:fs";
import { dirname } from "node:path";

/** The database could not be opened: not a DuckDB file, no permission, a schema from another version... */
export class StoreError extends Error {
  override name = "StoreError";
  constructor(
    message: string,
    /** The database file concerned. */
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Another process holds the database file (DuckDB allows one writing process). */
export class StoreLockedError extends StoreError {
  override name = "StoreLockedError";
  constructor(
    path: string,
    /** The process holding the lock, when DuckDB says. */
    readonly pid: number | undefined,
    /** Its executable, when DuckDB says (e.g. `/usr/bin/node`). */
    readonly holder: string | undefined,
    options?: { cause?: unknown },
  ) {
    const who = pid === undefined ? "" : ` (PID ${pid}${holder ? `, ${holder}` : ""})`;
    super(
      `database ${path} is in use by another process${who}: DuckDB allows one writer; wait for it to finish, or use the daemon's API while it runs`,
      path,
      options,
    );
  }
}

const LOCK_RE = /Could not set lock on file "[^"]*":\s*Conflicting lock is held in (.*?) \(PID (\d+)\)/;
const LOCK_ANY_RE = /Could not set lock on file/;

/**
 * Turns DuckDB's error at open into a `StoreError` (or `StoreLockedError`) naming `path`.
 * DuckDB's own wording: `IO Error: Could not set lock on file "/x/t.duckdb": Conflicting lock is held
 * in /usr/bin/node (PID 25412). See also https://duckdb.org/docs/stable/connect/concurrency`.
 */
export function openError(path: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const lock = LOCK_RE.exec(message);
  if (lock) return new StoreLockedError(path, Number(lock[2]), lock[1] || undefined, { cause: err });
  if (LOCK_ANY_RE.test(message)) return new StoreLockedError(path, undefined, undefined, { cause: err });
  if (/not a valid DuckDB database file/i.test(message)) {
    const reason = "the file exists but is not a DuckDB database";
    return new StoreError(`cannot open database ${path}: ${reason}`, path, { cause: err });
  }
  // DuckDB recognises a SQLite file and reaches for its sqlite extension, which is never loaded here.
  if (/sqlite_scanner|Extension "sqlite"/.test(message)) {
    const reason = "the file is a SQLite database, not a DuckDB database";
    return new StoreError(`cannot open database ${path}: ${reason}`, path, { cause: err });
  }
  const io = storeIoError(err, path);
  if (io) return io;
  if (/Permission denied/i.test(message)) {
    return new StoreError(`cannot open database ${path}: permission denied`, path, { cause: err });
  }
  return new StoreError(`cannot open database ${path}: ${stripKind(message)}`, path, { cause: err });
}

/** `IO Error: Cannot open file ...` -> `Cannot open file ...` (the kind says nothing to users). */
function stripKind(message: string): string {
  return message.replace(/^[A-Za-z ]*Error: /, "").trim();
}

const IO_RE = /file "([^"]+)":\s*(Permission denied|No space left on device|Read-only file system)/i;

/**
 * DuckDB failing to write a file (the database, its `.wal` beside it, a temporary file): a read-only
 * folder or file system, a full disk. These surface at any statement, not only at open, as
 * `TransactionContext Error: Failed to commit: Cannot open file "/x/t.duckdb.wal": Permission denied`;
 * this makes them one line naming the database and the cause. Anything else: undefined.
 * `opening`: the database being opened, when it is (the message then says "cannot open").
 */
export function storeIoError(err: unknown, opening?: string): StoreError | undefined {
  const message = err instanceof Error ? err.message : String(err);
  const found = IO_RE.exec(message);
  if (!found) return undefined;
  const file = found[1]!;
  const errno = found[2]!.toLowerCase();
  const database = file.endsWith(".wal") ? file.slice(0, -".wal".length) : (opening ?? file);
  const what = database === file || `${database}.wal` === file ? `database ${database}` : file;
  const folder = dirname(file);
  const reason =
    errno === "no space left on device"
      ? "no space left on device"
      : errno === "read-only file system"
        ? `${folder} is on a read-only file system`
        : writable(folder)
          ? `permission denied on ${file}`
          : `the folder ${folder} is read-only`;
  return new StoreError(`cannot ${opening ? "open" : "write"} ${what}: ${reason}`, database, { cause: err });
}

function writable(folder: string): boolean {
  try {
    accessSync(folder, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The nearest existing ancestor folder of `path` when it is a file, not a folder (`--db
 * /tmp/afile/x.duckdb` with `/tmp/afile` a file): nothing can be created below it.
 */
/**
 * Why the database cannot take writes any more, when `err` says so: a full disk or a read-only
 * file system (`storeIoError`), or DuckDB having invalidated the database after a failed write.
 * Undefined for every other error.
 */
export function storageFault(err: unknown): string | undefined {
  const io = storeIoError(err);
  if (io) return io.message;
  const message = err instanceof Error ? err.message : String(err);
  if (/database has been invalidated/i.test(message)) return stripKind(message);
  return undefined;
}

export function fileInTheWay(path: string): string | undefined {
  for (let at = dirname(path); ; at = dirname(at)) {
    try {
      return statSync(at).isDirectory() ? undefined : at;
    } catch {
      // missing (or below a file): look further up
    }
    if (dirname(at) === at) return undefined;
  }
}

const SCHEME_RE = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * Why `location` (TICKFLOW_DB or `--db`) cannot be opened by this build when it is a URL (only a
 * DuckDB file path or a PostgreSQL URL can); undefined for those. Only the scheme is repeated: the
 * rest may hold a password (user:password@, ?password=), and no parsing of a malformed URL can be
 * trusted to find it.
 */
export function unsupportedDatabaseUrl(location: string): string | undefined {
  const scheme = SCHEME_RE.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === "postgres" || scheme === "postgresql") return undefined;
  return `${scheme}:// URLs are not supported by this build: use a DuckDB file path or a postgresql:// URL`;
}

/** Why a DuckDB-only command (`tickflow ui`) cannot take a PostgreSQL URL. */
export function duckdbOnlyCommand(location: string): string | undefined {
  const scheme = SCHEME_RE.exec(location)?.[1]?.toLowerCase();
  if (scheme !== "postgres" && scheme !== "postgresql") return undefined;
  return `this command works on a DuckDB file only, not yet on PostgreSQL (${scheme}://...)`;
}
