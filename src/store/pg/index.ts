export { invalidateBarSymbolsPg, rebuildBarSymbolsPg } from "./bar-symbols-rebuild.js";
export { BarsWriterPg, stepSinksPg } from "./bars-writer.js";
export { cancellablyPg } from "./cancel.js";
export { type ClaimedRun, type ClaimOptions, claimRunsPg } from "./claim-runs.js";
export { pgConnectError } from "./connect-error.js";
export { crashRunsPg } from "./crash-runs.js";
export { createRunsPg } from "./create-runs.js";
export { type PgInfo, pgInfo } from "./info.js";
export { PG_JSON_TYPES } from "./json-values.js";
export { LEADER_LOCK, Leadership, type LeadershipOptions, tryLeadPg } from "./leadership.js";
export { crashExpiredLeasesPg, expiredLeasesPg, recoverOwnRunsPg, renewLeasesPg } from "./leases.js";
export { MIGRATION_LOCK, migratePg, pgSchemaVersion } from "./migrate.js";
export { PG_LATEST_VERSION, PG_MIGRATIONS } from "./migrations.js";
export { lookupPgpass, type PgpassLookup, pgpassFile } from "./pgpass.js";
export { openPgPool, type PgOpenOptions, type PgStore } from "./pool.js";
export {
  copyCheckedBarsPg,
  type QualityFinding,
  type QualityScope,
  replaceQualityResultsPg,
} from "./quality-results.js";
export { RunRecorderPg } from "./recorder.js";
export { countRowsPg, deleteRowsPg, tableExistsPg } from "./retention.js";
export { recordRunTransitionsPg, transitionRunsPg } from "./run-transitions.js";
export { findCachedTaskPg, findRunByIdPg } from "./runs.js";
export { deduplicatedNames, positionalQuery, runScriptPg } from "./script.js";
export { poolOf } from "./step-pool.js";
export {
  copyQueryToScratchPg,
  copyToScratch,
  type PgQueryText,
  type ScratchColumn,
  type ScratchCopyOptions,
  utcMicros,
} from "./to-scratch.js";
export { type PgDb, type PgTx, pgQuery, withPgTransaction } from "./transaction.js";
export {
  isPostgresUrl,
  maskDatabaseUrl,
  type PgConnection,
  parsePostgresUrl,
  SSL_MODES,
  type SslMode,
} from "./url.js";
