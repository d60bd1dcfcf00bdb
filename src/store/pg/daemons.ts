/**
 * The `daemons` table on PostgreSQL (`../daemons.ts`' twin): one row per live process (daemons and
 * workers) by its name, written at start and every few seconds (its test that the database takes
 * writes), deleted when it stops.
 */
import type { DaemonRow } from "../daemons.js";
import { type PgDb, pgQuery } from "./transaction.js";

export async function registerDaemonPg(db: PgDb, daemon: DaemonRow, at: Date): Promise<void> {
  await pgQuery(
    db,
    `INSERT INTO daemons (owner, host, pid, version, started_at, seen_at) VALUES ($1, $2, $3, $4, $5, $5)
     ON CONFLICT (owner) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version,
       started_at = excluded.started_at, seen_at = excluded.seen_at`,
    [daemon.owner, daemon.host, daemon.pid, daemon.version, at],
  );
}

export async function daemonSeenPg(db: PgDb, owner: string, at: Date): Promise<void> {
  await pgQuery(db, "UPDATE daemons SET seen_at = $2 WHERE owner = $1", [owner, at]);
}

export async function forgetDaemonPg(db: PgDb, owner: string): Promise<void> {
  await pgQuery(db, "DELETE FROM daemons WHERE owner = $1", [owner]);
}
