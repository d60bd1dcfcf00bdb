export {
  cleanupRetention,
  RETENTION_AGE_PATTERN,
  RETENTION_TABLES,
  type RetentionTable,
} from "./cleanup-retention.js";
export { exportStep } from "./export.js";
export { BAR_COLUMNS, type BarColumn, FILE_BAR_FORMATS, fileBars } from "./file-bars.js";
export {
  INDICATOR_KINDS,
  INDICATOR_PATTERN,
  type IndicatorKind,
  indicatorOutputNames,
  indicatorProblem,
  indicatorsCompute,
  type ParsedIndicator,
  parseIndicatorName,
} from "./indicators-compute.js";
export { log } from "./log.js";
export { notifyEmail } from "./notify-email.js";
export { notifyWebhook } from "./notify-webhook.js";
export { polygonDailyBars } from "./polygon-daily-bars.js";
export { polygonGroupedDaily } from "./polygon-grouped-daily.js";
export { builtinSteps, findStep } from "./registry.js";
export { sql } from "./sql.js";
export {
  DEFAULT_CHECK_SEVERITIES,
  QUALITY_CHECKS,
  type QualityCheck,
  SEVERITIES,
  type Severity,
  validateOhlcv,
} from "./validate-ohlcv.js";
export { yahooDailyBars } from "./yahoo-daily-bars.js";
