export {
  type BackfillDeployment,
  backfillDeploymentPg,
  lockBackfillPg,
  sessionsMissingBarsPg,
  unfinishedRunDatesPg,
} from "./backfill.js";
export { barColumnsPg, unknownIndicatorsPg } from "./bar-columns.js";
export {
  barSymbolsDifferencesPg,
  invalidateBarSymbolsPg,
  type NewBarsSpan,
  rebuildBarSymbolsPg,
  recordBarsWritePg,
  recordNewBarsPg,
} from "./bar-symbols.js";
export {
  ACTION_STAGING_COLUMNS,
  BAR_STAGING_COLUMNS,
  createActionsStagingPg,
  createBarsStagingPg,
  insertNewBarsPg,
  upsertActionsPg,
  upsertBarsPg,
} from "./bars-upsert.js";
export { BarsWriterPg, stepSinksPg } from "./bars-writer.js";
export { cancellablyPg } from "./cancel.js";
export { type ClaimedRun, type ClaimOptions, claimRunsPg } from "./claim-runs.js";
export { pgConnectError } from "./connect-error.js";
export { type CsvValue, copyCsvPg, csvBlocks, csvField, csvLine, csvRowBlocks } from "./copy.js";
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
export { coverageRowsPg } from "./coverage.js";
export { crashRunsPg } from "./crash-runs.js";
export { createRunsPg } from "./create-runs.js";
export { deleteWaitingRunsPg } from "./delete-waiting-runs.js";
export {
  deploymentsOfRunsPg,
  findDeploymentPg,
  lastSuccessesPg,
  listDeploymentsPg,
  listWorkPoolsPg,
  schedulesOfPg,
  workPoolJobDefaultsPg,
} from "./deployments.js";
export {
  DEPLOY_LOCK,
  lockDeploymentsPg,
  storedDefinitionsPg,
  storedSchedulesPg,
  writeDeploymentPlanPg,
  writePoolPlanPg,
} from "./deployments-write.js";
export {
  copyBinaryRowsPg,
  copyTextRowsPg,
  createIndicatorStagePg,
  deleteIndicatorRowsPg,
  ensureIndicatorColumnsPg,
  ensureSeriesPg,
  INDICATOR_COLUMNS_LOCK,
  INDICATOR_SERIES_LOCK,
  INDICATOR_VALUES_LOCK_PREFIX,
  indicatorColumnsPg,
  indicatorsViewSqlPg,
  lastIndicatorDaysPg,
  lockIndicatorSeriesPg,
  mergeIndicatorStagePg,
  othersStoredPg,
  readIndicatorBarsPg,
  symbolBarCountsPg,
} from "./indicators.js";
export { type PgInfo, pgInfo } from "./info.js";
export { PG_JSON_TYPES } from "./json-values.js";
export { LEADER_LOCK, Leadership, type LeadershipOptions, tryLeadPg } from "./leadership.js";
export { crashExpiredLeasesPg, expiredLeasesPg, recoverOwnRunsPg, renewLeasesPg } from "./leases.js";
export { listenForRuns, type RunsListener } from "./listen.js";
export { MIGRATION_LOCK, migratePg, pgSchemaVersion } from "./migrate.js";
export { PG_LATEST_VERSION, PG_MIGRATIONS } from "./migrations.js";
export { freshnessRulesPg, hasSessionBarsPg, runNotificationsPg } from "./notification-reads.js";
export { readNotifyPg, registerNotifyPg } from "./notify-config.js";
export { staleSessionsPg } from "./notify-freshness.js";
export {
  claimDueMessagesPg,
  enqueueMessagesPg,
  enqueueRunEventsPg,
  outboxRowsPg,
  recordAttemptPg,
} from "./notify-outbox.js";
export { setDeploymentPausedPg, setWorkPoolPausedPg } from "./pause.js";
export { lookupPgpass, type PgpassLookup, pgpassFile } from "./pgpass.js";
export { openPgPool, type PgOpenOptions, type PgStore } from "./pool.js";
export {
  copyCheckedBarsPg,
  type QualityFinding,
  type QualityScope,
  replaceQualityResultsPg,
} from "./quality-results.js";
export { latestQualitySummaryPg } from "./quality-summary.js";
export { queuedRunsOfPg } from "./queued-runs.js";
export { firstKeyword, readOnlyChunksPg } from "./read-only-query.js";
export { insertLogsPg, insertTransitionsPg, RunRecorderPg, upsertTaskRunsPg } from "./recorder.js";
export { countRowsPg, deleteRowsPg, tableExistsPg } from "./retention.js";
export { runCountsByStatePg } from "./run-counts.js";
export { RUNS_CHANNEL, recordRunTransitionsPg, transitionRunsPg } from "./run-transitions.js";
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
export { advanceSchedulesPg, dueSchedulesPg, lateRunsPg } from "./scheduler.js";
export { deduplicatedNames, positionalQuery, runScriptPg } from "./script.js";
export { poolOf } from "./step-pool.js";
export { symbolEventsPg } from "./symbol-events.js";
export { findSymbolsPg, hasBarsPg, sourceExtentsPg } from "./symbols.js";
export { pgJsonText, pgText } from "./text.js";
export {
  adminStatement,
  findPostgresBin,
  noThrowawayServerReason,
  type PgServer,
  startThrowawayPostgres,
  type ThrowawayServerOptions,
} from "./throwaway-server.js";
export {
  copyQueryToScratchPg,
  copyToScratch,
  type PgQueryText,
  type ScratchColumn,
  type ScratchCopyOptions,
  utcMicros,
} from "./to-scratch.js";
export { isPgTx, type PgDb, type PgTx, pgQuery, withPgTransaction } from "./transaction.js";
export {
  isPostgresUrl,
  maskDatabaseUrl,
  type PgConnection,
  parsePostgresUrl,
  SSL_MODES,
  type SslMode,
} from "./url.js";
export { waitingRunsPg } from "./waiting-runs.js";
