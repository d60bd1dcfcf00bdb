export { type AppendColumn, appendColumns } from "./append.js";
export { BarsWriter, type BarsWriterOptions } from "./bars-writer.js";
export { withConnectionLock } from "./connection-lock.js";
export { StoreError, StoreLockedError } from "./errors.js";
export { isRunId, newRunId, runIdTime } from "./ids.js";
export { type MigrateResult, migrate, SchemaTooNewError, schemaVersion } from "./migrate.js";
export { LATEST_VERSION, MIGRATIONS, type Migration } from "./migrations.js";
export { type OpenOptions, openStore, type Store, storeOfMainConnection } from "./open.js";
export { RunRecorder } from "./recorder.js";
export {
  type CachedTask,
  findCachedTask,
  findCachedTasks,
  findRun,
  insertRun,
  type ListRunsOptions,
  type LogRow,
  type LogsOptions,
  listRuns,
  logsOf,
  type RunPatch,
  type RunRow,
  type TaskRunRow,
  type TransitionRow,
  taskRunsOf,
  transitionsOf,
  updateRun,
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
export { withTransaction } from "./transaction.js";
export { type JsonValue, timestampTZ, toJsonValue } from "./values.js";
