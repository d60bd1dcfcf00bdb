import type { DuckDBConnection } from "@duckdb/node-api";
import { LATEST_VERSION, MIGRATIONS, type Migration } from "./migrations.js";

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       VARCHAR NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL
)`;

/** The highest applied migration (0 for a new database, or one made before migrations existed). */
export async function schemaVersion(db: DuckDBConnection): Promise<number> {
  const exists = await db.runAndReadAll(
    "SELECT count(*) AS n FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'schema_migrations'",
  );
  if (Number(exists.getRows()[0]?.[0] ?? 0) === 0) return 0;
  const reader = await db.runAndReadAll("SELECT coalesce(max(version), 0) FROM schema_migrations");
  return Number(reader.getRows()[0]?.[0] ?? 0);
}

/** What `migrate` did. */
export interface MigrateResult {
  from: number;
  to: number;
  applied: Migration[];
}

/**
 * Applies the migrations newer than the database, each in its own transaction (the schema change and
 * its `schema_migrations` row commit together). Running it again is a no-op.
 * A database newer than the code is refused: an older tickflow must not write to it.
 */
export async function migrate(
  db: DuckDBConnection,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrateResult> {
  await db.run(CREATE_MIGRATIONS_TABLE);
  const from = await schemaVersion(db);
  const { latest, pending } = pendingMigrations(migrations, from);
  for (const migration of pending) {
    await db.run("BEGIN TRANSACTION");
    try {
      await db.run(migration.sql);
      await db.run(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($version, $name, now())",
        {
          version: migration.version,
          name: migration.name,
        },
      );
      await db.run("COMMIT");
    } catch (err) {
      await db.run("ROLLBACK").catch(() => {});
      throw migrationFailed(migration, err);
    }
  }
  return { from, to: Math.max(from, latest), applied: pending };
}

/**
 * The migrations a database at schema `from` lacks, in order (both backends).
 * @throws SchemaTooNewError when `from` is newer than every migration.
 */
export function pendingMigrations(
  migrations: readonly Migration[],
  from: number,
): { latest: number; pending: Migration[] } {
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (from > latest) throw new SchemaTooNewError(from, latest);
  const pending = [...migrations].filter((m) => m.version > from).sort((a, b) => a.version - b.version);
  return { latest, pending };
}

/** `migration N (name) failed: why` (both backends). */
export function migrationFailed(migration: Migration, err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`migration ${migration.version} (${migration.name}) failed: ${message}`, { cause: err });
}

/** The database was written by a newer tickflow. */
export class SchemaTooNewError extends Error {
  override name = "SchemaTooNewError";
  constructor(
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      `its schema is version ${found}, newer than this tickflow understands (${supported}): upgrade tickflow`,
    );
  }
}

export { LATEST_VERSION };
