export { pgConnectError } from "./connect-error.js";
export { type PgInfo, pgInfo } from "./info.js";
export { MIGRATION_LOCK, migratePg, pgSchemaVersion } from "./migrate.js";
export { PG_LATEST_VERSION, PG_MIGRATIONS } from "./migrations.js";
export { lookupPgpass, type PgpassLookup, pgpassFile } from "./pgpass.js";
export { openPgPool, type PgOpenOptions, type PgStore } from "./pool.js";
export {
  isPostgresUrl,
  maskDatabaseUrl,
  type PgConnection,
  parsePostgresUrl,
  SSL_MODES,
  type SslMode,
} from "./url.js";
