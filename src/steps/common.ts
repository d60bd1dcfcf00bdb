/**
 * Field schemas shared by the built-in steps. Every field here is undescribed on purpose: each step
 * adds its own `.describe(...)` so that the hover text fits the step (the JSON Schema generator
 * reads the description of the instance that ends up in the step's `params`).
 */
import { z } from "zod";
import { DURATION_PATTERN } from "../config/duration.js";

const ISO_DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** True when `text` is `YYYY-MM-DD` and names a day that exists (no 2024-02-30). */
export function isRealIsoDate(text: string): boolean {
  if (!ISO_DATE_RE.test(text)) return false;
  const [y, m, d] = text.split("-").map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** An ISO calendar date `YYYY-MM-DD` (the pattern reaches JSON Schema, the calendar check does not). */
export const isoDate = z
  .string()
  .regex(ISO_DATE_RE, "expected a date as YYYY-MM-DD")
  .refine(isRealIsoDate, "not a real calendar date");

/** A duration string such as `500ms`, `30s`, `10m`, `2h`, `1d` or `1h30m`. */
export const duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), "expected a duration such as 500ms, 30s, 10m, 2h or 1h30m");

/** One ticker symbol. */
export const symbol = z.string().min(1);

/** A list of ticker symbols (at least one; duplicates are harmless). */
export const symbols = z
  .array(symbol.describe("A ticker symbol as the data source spells it, e.g. AAPL."))
  .min(1);

/** A `bars_daily.source` label such as `polygon` or `yahoo`. */
export const sourceName = z.string().min(1);

/** Rows of the date-range group, as the step sees them after parsing. */
interface DateRangeValue {
  start?: unknown;
  end?: unknown;
  days_back?: unknown;
}

/** `start`, `end` and `days_back`: which dates a step works on. Combine with `dateRangeRefinement`. */
export const dateRangeShape = {
  start: isoDate
    .describe(
      "First date to process, YYYY-MM-DD, inclusive. Give either start (and optionally end) or days_back.",
    )
    .optional(),
  end: isoDate
    .describe("Last date to process, YYYY-MM-DD, inclusive. Only together with start; default: the run date.")
    .optional(),
  days_back: z
    .number()
    .int()
    .min(1)
    .describe(
      "Number of NYSE trading sessions to process, counted back from the run date (run.date), the run date's own session included when it is one. Instead of start/end.",
    )
    .optional(),
} as const;

/** Same fields, but for steps that default to all dates (validate.ohlcv). */
export const optionalDateRangeShape = {
  start: isoDate.describe("First date to check, YYYY-MM-DD, inclusive. Default: no lower bound.").optional(),
  end: isoDate.describe("Last date to check, YYYY-MM-DD, inclusive. Default: no upper bound.").optional(),
  days_back: z
    .number()
    .int()
    .min(1)
    .describe(
      "Check only the last N NYSE trading sessions, counted back from the run date (run.date). Instead of start/end. Default: all dates.",
    )
    .optional(),
} as const;

/**
 * Only run object-level refinements on objects. With this `when`, they also run when some field
 * failed, so that every error of a `with` block is reported at once; they must therefore check the
 * types of the fields they read.
 */
export const onObjects = {
  when: (payload: { value: unknown }) =>
    typeof payload.value === "object" && payload.value !== null && !Array.isArray(payload.value),
};

/**
 * The date-range rules. `mode: "ingest"`: one of `start` / `days_back` is required, `end` needs
 * `start`. `mode: "filter"` (all dates by default): all optional, `end` alone is an upper bound.
 * Both: `start` and `days_back` exclude each other, `end` and `days_back` too, and `start <= end`.
 */
export function checkDateRange(value: DateRangeValue, ctx: z.RefinementCtx, mode: "ingest" | "filter"): void {
  const hasStart = value.start !== undefined;
  const hasEnd = value.end !== undefined;
  const hasDaysBack = value.days_back !== undefined;
  if (hasStart && hasDaysBack) {
    ctx.addIssue({
      code: "custom",
      path: ["days_back"],
      message:
        "start and days_back cannot be used together: give either start (and optionally end) or days_back",
    });
  } else if (hasEnd && hasDaysBack) {
    ctx.addIssue({
      code: "custom",
      path: ["end"],
      message: "end cannot be used with days_back (days_back counts back from the run date)",
    });
  } else if (mode === "ingest" && hasEnd && !hasStart) {
    ctx.addIssue({ code: "custom", path: ["end"], message: "end needs start" });
  } else if (mode === "ingest" && !hasStart && !hasDaysBack) {
    ctx.addIssue({
      code: "custom",
      path: [],
      message: "give either start (and optionally end) or days_back",
    });
  }
  if (typeof value.start === "string" && typeof value.end === "string" && value.start > value.end) {
    ctx.addIssue({
      code: "custom",
      path: ["end"],
      message: `end (${value.end}) is before start (${value.start})`,
    });
  }
}

/** The HTTP fields of the ingestion steps, with that data source's defaults. */
export function httpShape(defaults: { baseUrl: string; rateLimit: number; concurrency: number }) {
  return {
    base_url: z
      .url({ protocol: /^https?$/ })
      .default(defaults.baseUrl)
      .describe(`Base URL of the API, without a trailing path. Default: ${defaults.baseUrl}.`),
    rate_limit: z
      .number()
      .min(0)
      .default(defaults.rateLimit)
      .describe(
        `Maximum requests per minute to this API, shared by all tasks using the same base_url; 0 = unlimited. Default: ${defaults.rateLimit}.`,
      ),
    concurrency: z
      .number()
      .int()
      .min(1)
      .default(defaults.concurrency)
      .describe(`Maximum requests in flight at once. Default: ${defaults.concurrency}.`),
    timeout: duration
      .default("30s")
      .describe("Timeout of one HTTP request (connect to last byte), e.g. 30s or 2m. Default: 30s."),
    max_retries: z
      .number()
      .int()
      .min(0)
      .default(5)
      .describe(
        "How often one request is retried after a 429, a 5xx, a reset connection or a timeout, with exponential backoff and jitter (429 honours Retry-After). Other 4xx responses fail at once. Default: 5.",
      ),
  } as const;
}

/** File formats understood by `file.bars` and `export`, from the file name. */
export function formatFromExtension(path: string): "csv" | "parquet" | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith(".csv") || lower.endsWith(".csv.gz")) return "csv";
  if (lower.endsWith(".parquet")) return "parquet";
  return undefined;
}

/** Named SQL parameters (`$name` in the query): scalar values by name. */
export const sqlParams = z
  .record(
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .describe("Parameter name, used as $name in the query."),
    z
      // Described members keep this an anyOf: zod would otherwise merge them into `type: [...]`,
      // which ajv's strict mode rejects.
      .union([
        z.string().describe("A string value."),
        z.number().describe("A number value."),
        z.boolean().describe("A boolean value."),
        z.null().describe("SQL NULL."),
      ])
      .describe("Parameter value: a string, number, boolean or null."),
  )
  .describe(
    "Named parameters bound to $name placeholders in the query (values are bound, never pasted into the SQL). Default: none.",
  )
  .optional();
