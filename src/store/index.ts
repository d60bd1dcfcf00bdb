export { type AppendColumn, appendColumns } from "./append.js";
export { type AnyStore, isPgStore, storeDisplay } from "./backend.js";
export { type BarColumns, barColumns, unknownIndicators } from "./bar-columns.js";
export {
  BAR_SYMBOLS_TABLE,
  type BarSymbolsDifference,
  barSymbolsDifferences,
  barSymbolsRelation,
  invalidateBarSymbols,
  rebuildBarSymbols,
  recordBarsWrite,
} from "./bar-symbols.js";
export { BarsWriter, type BarsWriterOptions } from "./bars-writer.js";
export { type Connection, connectionOf, Locked, withConnectionLock } from "./connection-lock.js";
export { type CoverageRow, coverageRows } from "./coverage.js";
export { crashRuns } from "./crash-runs.js";
export { createRuns, deleteWaitingRuns, type NewRun } from "./create-runs.js";
export { type DaemonRow, daemonSeen, forgetDaemon, registerDaemon } from "./daemons.js";
export {
  type DeploymentRow,
  deploymentsOfRuns,
  findDeployment,
  type JobDefaults,
  lastSuccesses,
  listDeployments,
  listWorkPools,
  type WorkPoolRow,
  type WorkQueueRow,
  workPoolJobDefaults,
} from "./deployments.js";
export { StoreError, StoreLockedError, storageFault, storeIoError } from "./errors.js";
export { type SourceExtent, sourceExtents } from "./freshness.js";
export { isRunId, newRunId, runIdTime } from "./ids.js";
export { renewLeases, runsWithoutHolder } from "./leases.js";
export { type MigrateResult, migrate, SchemaTooNewError, schemaVersion } from "./migrate.js";
export { LATEST_VERSION, MIGRATIONS, type Migration } from "./migrations.js";
export { NO_NOTIFY, type NotifyRecords, readNotify, registerNotify } from "./notify-config.js";
export {
  type AttemptOutcome,
  dueMessages,
  enqueueMessages,
  enqueueRunEvents,
  type OutboxMessage,
  type OutboxRow,
  outboxRows,
  type RunNotificationRow,
  recordAttempt,
  runNotifications,
} from "./notify-outbox.js";
export { type OpenOptions, openStore, type Store, storeOfMainConnection } from "./open.js";
export { openAnyStore } from "./open-any.js";
export { isPostgresUrl } from "./pg/url.js";
export { latestQualitySummary, type QualitySummary } from "./quality-summary.js";
export { CLAIM_ORDER, CLAIMABLE_RUNS, queuedRunsOf } from "./queued-runs.js";
export {
  QueryRefused,
  type ReadOnlyOptions,
  type ReadOnlyResult,
  readOnlyChunks,
} from "./read-only-query.js";
export { RunRecorder } from "./recorder.js";
export { runCountsByState } from "./run-counts.js";
export { type RunRecording, type RunRecords, runRecordsOf } from "./run-records.js";
export {
  type RunSelector,
  type RunStatePatch,
  type RunTransition,
  transitionRuns,
} from "./run-transitions.js";
export {
  type CachedTask,
  findCachedTask,
  findCachedTasks,
  findRun,
  type ListRunsOptions,
  type LogRow,
  type LogsOptions,
  listRuns,
  logsOf,
  type RunKey,
  type RunRow,
  type RunsPage,
  runsPage,
  type TaskRunRow,
  type TransitionRow,
  taskRunsOf,
  transitionsOf,
} from "./runs.js";
export { type ScheduleRow, schedulesOf } from "./schedules.js";
export {
  firstRow,
  runScript,
  type ScriptOptions,
  type ScriptResult,
  type SqlParam,
  singleStatement,
} from "./script.js";
export { stepSinks } from "./sinks.js";
export { dropStaged, stageColumns, withStaged } from "./staging.js";
export * from "./states.js";
export { type SymbolEvents, symbolEvents } from "./symbol-events.js";
export { findSymbols, hasBars, type SymbolRow } from "./symbols.js";
export { isConflict, withTransaction } from "./transaction.js";
export { dateValue, type JsonValue, timestampTZ, toJsonValue } from "./values.js";
