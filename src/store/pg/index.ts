export { BarsWriterPg, stepSinksPg } from "./bars-writer.js";
export { type ClaimedRun, type ClaimOptions, claimRunsPg } from "./claim-runs.js";
export { pgConnectError } from "./connect-error.js";
export {
  type CopyOptions,
  type CopyProgress,
  type CopySource,
  type CopySummary,
  copyDuckDbToPg,
  duckdbTablesToCopy,
  NOT_COPIED,
} from "./copy-from-duckdb.js";
export {
  CopyValueError,
  copyDate,
  copyDouble,
  copyFieldOf,
  copyLines,
  copyText,
  copyTimestampTz,
} from "./copy-text.js";
export { crashRunsPg } from "./crash-runs.js";
export { createRunsPg } from "./create-runs.js";
export { indicatorsViewSqlPg } from "./indicators-view.js";
export { type PgInfo, pgInfo } from "./info.js";
export { LEADER_LOCK, Leadership, type LeadershipOptions, tryLeadPg } from "./leadership.js";
export { crashExpiredLeasesPg, expiredLeasesPg, recoverOwnRunsPg, renewLeasesPg } from "./leases.js";
export { MIGRATION_LOCK, migratePg, pgSchemaVersion } from "./migrate.js";
export { PG_LATEST_VERSION, PG_MIGRATIONS } from "./migrations.js";
export { lookupPgpass, type PgpassLookup, pgpassFile } from "./pgpass.js";
export { openPgPool, type PgOpenOptions, type PgStore } from "./pool.js";
export { RunRecorderPg } from "./recorder.js";
export { recordRunTransitionsPg, transitionRunsPg } from "./run-transitions.js";
export { findCachedTaskPg, findRunByIdPg } from "./runs.js";
export { type PgDb, type PgTx, pgQuery, withPgTransaction } from "./transaction.js";
export {
  isPostgresUrl,
  maskDatabaseUrl,
  type PgConnection,
  parsePostgresUrl,
  SSL_MODES,
  type SslMode,
} from "./url.js";
