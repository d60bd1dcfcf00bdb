import { parseDuration } from "../../config/duration.js";
import { Masker } from "../../config/masker.js";
import type { StepContext } from "../../pipeline/step-spec.js";
import { createHttpClient, type HttpClient } from "./client.js";
import { sharedLimiter } from "./rate-limiter.js";

/** The HTTP parameters every ingestion step declares (`httpShape` in src/steps/common.ts). */
export interface StepHttpParams {
  base_url: string;
  rate_limit: number;
  concurrency: number;
  timeout: string;
  max_retries: number;
}

/** Masks `secret` in `text` as a run masks its secrets (the step may run outside a run, in tests). */
export function scrubSecret(text: string, secret: string | undefined): string {
  return !secret ? text : new Masker([secret]).mask(text);
}

/**
 * A client for one step's requests: its parameters, the process-wide limiter of that API and rate,
 * and each retry logged as a warning (with `secret`, if any, scrubbed from the line).
 */
export function stepHttpClient(
  ctx: Pick<StepContext, "log">,
  params: StepHttpParams,
  options: { api: string; headers?: Record<string, string>; secret?: string },
): HttpClient {
  return createHttpClient({
    baseUrl: params.base_url,
    api: options.api,
    concurrency: params.concurrency,
    rateLimiter: sharedLimiter(params.base_url, params.rate_limit),
    timeoutMs: parseDuration(params.timeout) ?? 30_000,
    maxRetries: params.max_retries,
    ...(options.headers ? { headers: options.headers } : {}),
    onRetry: (info) =>
      ctx.log(
        "warn",
        scrubSecret(
          `${info.label ? `${info.label}: ` : ""}${info.reason} from GET ${info.url}; retry ${info.attempt}/${info.maxRetries} in ${info.delayMs} ms`,
          options.secret,
        ),
      ),
  });
}
