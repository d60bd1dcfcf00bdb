/** What `tickflow db info` says of a PostgreSQL database: the server's version and the schema's. */
import { pgSchemaVersion } from "./migrate.js";
import { PG_LATEST_VERSION } from "./migrations.js";
import type { PgStore } from "./pool.js";

export interface PgInfo {
  backend: "postgresql";
  /** e.g. `15.18 (Debian 15.18-0+deb12u1)`. */
  serverVersion: string;
  /** The applied schema version (0: not migrated yet). */
  schemaVersion: number;
  /** The version this tickflow expects. */
  latestVersion: number;
  /** The URL, password masked. */
  location: string;
}

export async function pgInfo(store: PgStore): Promise<PgInfo> {
  const version = await store.pool.query<{ server_version: string }>("SHOW server_version");
  return {
    backend: "postgresql",
    serverVersion: version.rows[0]?.server_version ?? "unknown",
    schemaVersion: await pgSchemaVersion(store.pool),
    latestVersion: PG_LATEST_VERSION,
    location: store.display,
  };
}
