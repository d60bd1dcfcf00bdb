export { BarsWriterPg, stepSinksPg } from "./bars-writer.js";
export { type ClaimedRun, type ClaimOptions, claimRunsPg } from "./claim-runs.js";
export { pgConnectError } from "./connect-error.js";
export { crashRunsPg } from "./crash-runs.js";
export { createRunsPg, deleteWaitingRunsPg } from "./create-runs.js";
export { type PgInfo, pgInfo } from "./info.js";
export { LEADER_LOCK, Leadership, type LeadershipOptions, tryLeadPg } from "./leadership.js";
export { crashExpiredLeasesPg, expiredLeasesPg, recoverOwnRunsPg, renewLeasesPg } from "./leases.js";
export { MIGRATION_LOCK, migratePg, pgSchemaVersion } from "./migrate.js";
export { PG_LATEST_VERSION, PG_MIGRATIONS } from "./migrations.js";
export { readNotifyPg, registerNotifyPg } from "./notify-config.js";
export { hasBarsPg, staleSessionsPg } from "./notify-freshness.js";
export {
  claimDueMessagesPg,
  enqueueMessagesPg,
  enqueueRunEventsPg,
  outboxRowsPg,
  recordAttemptPg,
  runNotificationsPg,
} from "./notify-outbox.js";
export { lookupPgpass, type PgpassLookup, pgpassFile } from "./pgpass.js";
export { openPgPool, type PgOpenOptions, type PgStore } from "./pool.js";
export { insertLogsPg, insertTransitionsPg, RunRecorderPg, upsertTaskRunsPg } from "./recorder.js";
export { recordRunTransitionsPg, transitionRunsPg } from "./run-transitions.js";
export {
  findCachedTaskPg,
  findCachedTasksPg,
  findRunByIdPg,
  findRunPg,
  listRunsPg,
  logsOfPg,
  runsPagePg,
  taskRunsOfPg,
  transitionsOfPg,
} from "./runs.js";
export { pgJsonText, pgText } from "./text.js";
export { type PgDb, type PgTx, pgQuery, withPgTransaction } from "./transaction.js";
export {
  isPostgresUrl,
  maskDatabaseUrl,
  type PgConnection,
  parsePostgresUrl,
  SSL_MODES,
  type SslMode,
} from "./url.js";
