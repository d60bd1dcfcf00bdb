/**
 * What code that runs in any process (vendor clients, the bars sink, the quality step) reports for
 * the daemon's `/metrics`. Each function is a no-op until a daemon installs a sink
 * (`createDaemonMetrics`): `tickflow run` pays one comparison per call and never loads prom-client,
 * which only the daemon's part of this folder imports.
 */

/** Why a vendor request waited: its source's rate limit, the server's `Retry-After`, or backoff. */
export type HttpWaitReason = "rate_limit" | "retry_after" | "backoff";

/** The daemon's side: counts what the functions below report. */
export interface MetricsSink {
  httpRequest(api: string, statusClass: string): void;
  httpRetry(api: string): void;
  httpWait(api: string, reason: HttpWaitReason, seconds: number): void;
  barsWritten(source: string, bars: number): void;
  qualityFindings(check: string, severity: string, findings: number): void;
}

let sink: MetricsSink | undefined;

/** Sets (or, with undefined, removes) where the reports go; returns the sink it replaced. */
export function setMetricsSink(next: MetricsSink | undefined): MetricsSink | undefined {
  const previous = sink;
  sink = next;
  return previous;
}

/**
 * A vendor request ended: with an HTTP status (counted by class, `2xx`...), or without one
 * (`timeout`, `error` for a network failure, `cancelled` when its run was).
 */
export function countHttpRequest(api: string, outcome: number | "timeout" | "error" | "cancelled"): void {
  sink?.httpRequest(api, typeof outcome === "number" ? `${Math.floor(outcome / 100)}xx` : outcome);
}

export function countHttpRetry(api: string): void {
  sink?.httpRetry(api);
}

export function countHttpWait(api: string, reason: HttpWaitReason, ms: number): void {
  if (ms > 0) sink?.httpWait(api, reason, ms / 1000);
}

/** Bars committed to bars_daily for `source`. */
export function countBarsWritten(source: string, bars: number): void {
  if (bars > 0) sink?.barsWritten(source, bars);
}

/** Findings recorded in quality_results by one check at one severity. */
export function countQualityFindings(check: string, severity: string, findings: number): void {
  if (findings > 0) sink?.qualityFindings(check, severity, findings);
}
