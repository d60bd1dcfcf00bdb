/**
 * Applies PostgreSQL's migrations (`migrations.ts`): the missing ones in order, each in its own
 * transaction with its `schema_migrations` row, all under a session advisory lock, so that two
 * processes migrating at once (two daemons starting, `tickflow db migrate` during a start) take
 * turns: the second finds the work done. A database newer than the code is refused.
 */
import type pg from "pg";
import { type MigrateResult, migrationFailed, pendingMigrations } from "../migrate.js";
import type { Migration } from "../migrations.js";
import { PG_MIGRATIONS } from "./migrations.js";

/** The advisory lock of migrations: ('tick' as an int4, 1). Other locks of tickflow use ('tick', n). */
export const MIGRATION_LOCK: readonly [number, number] = [0x7469636b, 1];

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL
)`;

type Queryable = Pick<pg.ClientBase, "query">;

/** The highest applied migration; 0 for a database without `schema_migrations`. */
export async function pgSchemaVersion(db: Queryable): Promise<number> {
  const exists = await db.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (!exists.rows[0]?.t) return 0;
  const result = await db.query<{ v: number }>(
    "SELECT coalesce(max(version), 0)::integer AS v FROM schema_migrations",
  );
  return result.rows[0]?.v ?? 0;
}

/**
 * Brings the database's schema up to date (a no-op when it is). One connection of `pool` holds the
 * advisory lock for the whole of it, and lets go of it whatever happens.
 *
 * @throws SchemaTooNewError (from `pendingMigrations`) for a database written by a newer tickflow.
 * @throws Error `migration N (name) failed: ...` (that migration rolled back; the earlier ones stay).
 */
export async function migratePg(
  pool: pg.Pool,
  migrations: readonly Migration[] = PG_MIGRATIONS,
): Promise<MigrateResult> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1, $2)", [...MIGRATION_LOCK]);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const from = await pgSchemaVersion(client);
      const { latest, pending } = pendingMigrations(migrations, from);
      for (const migration of pending) {
        await client.query("BEGIN");
        try {
          await client.query(migration.sql);
          await client.query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())",
            [migration.version, migration.name],
          );
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK").catch(() => {});
          throw migrationFailed(migration, err);
        }
      }
      return { from, to: Math.max(from, latest), applied: pending };
    } finally {
      await client.query("SELECT pg_advisory_unlock($1, $2)", [...MIGRATION_LOCK]).catch(() => {});
    }
  } finally {
    client.release();
  }
}
