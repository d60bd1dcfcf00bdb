/**
 * Errors of opening the store, with messages meant for users (the CLI prints them without a stack).
 */

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
  if (/Permission denied/i.test(message)) {
    return new StoreError(`cannot open database ${path}: permission denied`, path, { cause: err });
  }
  return new StoreError(`cannot open database ${path}: ${stripKind(message)}`, path, { cause: err });
}

/** `IO Error: Cannot open file ...` -> `Cannot open file ...` (the kind says nothing to users). */
function stripKind(message: string): string {
  return message.replace(/^[A-Za-z ]*Error: /, "").trim();
}
