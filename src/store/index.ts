export { type AppendColumn, appendColumns } from "./append.js";
export { BarsWriter, type BarsWriterOptions } from "./bars-writer.js";
export { type Connection, connectionOf, Locked, withConnectionLock } from "./connection-lock.js";
export { crashRuns } from "./crash-runs.js";
export { createRuns, deleteWaitingRuns, type NewRun } from "./create-runs.js";
export { type DaemonRow, daemonSeen, forgetDaemon, registerDaemon } from "./daemons.js";
export {
  type DeploymentRow,
  deploymentsOfRuns,
  findDeployment,
  lastSuccesses,
  listDeployments,
  listWorkPools,
  type WorkPoolRow,
  type WorkQueueRow,
} from "./deployments.js";
export { StoreError, StoreLockedError, storageFault, storeIoError } from "./errors.js";
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
  recordAttempt,
} from "./notify-outbox.js";
export { type OpenOptions, openStore, type Store, storeOfMainConnection } from "./open.js";
export {
  QueryRefused,
  type ReadOnlyOptions,
  type ReadOnlyResult,
  readOnlyChunks,
} from "./read-only-query.js";
export { RunRecorder } from "./recorder.js";
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
  type RunRow,
  type TaskRunRow,
  type TransitionRow,
  taskRunsOf,
  transitionsOf,
} from "./runs.js";
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
export { isConflict, withTransaction } from "./transaction.js";
export { type JsonValue, timestampTZ, toJsonValue } from "./values.js";
