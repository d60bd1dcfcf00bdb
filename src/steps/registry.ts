import type { StepSpec } from "../pipeline/step-spec.js";
import { cleanupRetention } from "./cleanup-retention.js";
import { exportStep } from "./export.js";
import { fileBars } from "./file-bars.js";
import { indicatorsCompute } from "./indicators-compute.js";
import { log } from "./log.js";
import { notifyEmail } from "./notify-email.js";
import { notifyWebhook } from "./notify-webhook.js";
import { polygonDailyBars } from "./polygon-daily-bars.js";
import { polygonGroupedDaily } from "./polygon-grouped-daily.js";
import { sql } from "./sql.js";
import { validateOhlcv } from "./validate-ohlcv.js";
import { yahooDailyBars } from "./yahoo-daily-bars.js";

/** Every built-in step type, in the order of SPEC section 3 (also the order of `tickflow steps`). */
export const builtinSteps: readonly StepSpec[] = [
  polygonDailyBars,
  polygonGroupedDaily,
  yahooDailyBars,
  fileBars,
  validateOhlcv,
  indicatorsCompute,
  cleanupRetention,
  sql,
  exportStep,
  log,
  notifyWebhook,
  notifyEmail,
];

const byName = new Map<string, StepSpec>(builtinSteps.map((step) => [step.name, step]));

/** The built-in step type used as `uses: <name>`, or undefined when there is none. */
export function findStep(name: string): StepSpec | undefined {
  return byName.get(name);
}
