/**
 * The `daemons` table: a daemon's row, written at start and every few seconds after. Those writes
 * are its test of the database: when one fails for want of space (or a read-only file system), the
 * daemon reports itself unhealthy until one succeeds again.
 */
import { type Connection, withConnectionLock } from "./connection-lock.js";
import { timestampTZ } from "./values.js";

export interface DaemonRow {
  owner: string;
  host: string;
  pid: number;
  version: string;
}

export async function registerDaemon(on: Connection, daemon: DaemonRow, at: Date): Promise<void> {
  await withConnectionLock(on, ({ db }) =>
    db.run(
      `INSERT OR REPLACE INTO daemons (owner, host, pid, version, started_at, seen_at)
       VALUES ($owner, $host, $pid, $version, $at, $at)`,
      { ...daemon, at: timestampTZ(at) },
    ),
  );
}

/** The daemon is alive and the database takes writes (throws the write's error when not). */
export async function daemonSeen(on: Connection, owner: string, at: Date): Promise<void> {
  await withConnectionLock(on, ({ db }) =>
    db.run("UPDATE daemons SET seen_at = $at WHERE owner = $owner", { owner, at: timestampTZ(at) }),
  );
}

export async function forgetDaemon(on: Connection, owner: string): Promise<void> {
  await withConnectionLock(on, ({ db }) => db.run("DELETE FROM daemons WHERE owner = $owner", { owner }));
}
