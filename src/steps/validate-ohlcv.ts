import { DATE, type DuckDBConnection, type DuckDBResultReader, dateValue, VARCHAR } from "@duckdb/node-api";
import { z } from "zod";
import { sessionsBack, sessionsBetween, XNYS_FIRST_YEAR, XNYS_LAST_YEAR } from "../calendar/index.js";
import { countQualityFindings } from "../metrics/record.js";
import type { StepContext, StepOutput } from "../pipeline/step-spec.js";
import { defineStep } from "../pipeline/step-spec.js";
import {
  crossSourceSql,
  duplicatesSql,
  missingSessionsSql,
  negativeVolumeSql,
  nonPositivePriceSql,
  nullsSql,
  ohlcConsistencySql,
  priceJumpSql,
  quoteString,
  stalePriceSql,
} from "../quality/checks.js";
import { appendColumns } from "../store/index.js";
import { interruptibly } from "../store/interrupt.js";
import type { QualityFinding } from "../store/pg/quality-results.js";
import type { PgDb } from "../store/pg/transaction.js";
import { checkDateRange, onObjects, optionalDateRangeShape, sourceName, symbols } from "./common.js";

/** The data checks, named as in `quality_results.check_name`. */
export const QUALITY_CHECKS = [
  "nulls",
  "ohlc_consistency",
  "non_positive_price",
  "negative_volume",
  "duplicates",
  "missing_sessions",
  "stale_price",
  "price_jump",
  "cross_source",
] as const;

export type QualityCheck = (typeof QUALITY_CHECKS)[number];

export const SEVERITIES = ["error", "warn", "off"] as const;
export type Severity = (typeof SEVERITIES)[number];

const CHECKS: Record<QualityCheck, { severity: Exclude<Severity, "off">; what: string }> = {
  nulls: { severity: "error", what: "a null open, high, low, close or volume" },
  ohlc_consistency: { severity: "error", what: "OHLC inconsistency: not low <= open, close <= high" },
  non_positive_price: { severity: "error", what: "a price <= 0" },
  negative_volume: { severity: "error", what: "a volume < 0" },
  duplicates: { severity: "error", what: "more than one row per (source, symbol, date)" },
  missing_sessions: {
    severity: "warn",
    what: "an NYSE session without a bar between a symbol's first and last bar in the range",
  },
  stale_price: { severity: "warn", what: "the same close for stale_sessions sessions in a row" },
  price_jump: {
    severity: "warn",
    what: "a close-to-close move beyond max_jump_pct that no split in corporate_actions explains",
  },
  cross_source: {
    severity: "warn",
    what: "a close that differs from compare_with's by more than tolerance_bps (skipped without compare_with)",
  },
};

export const DEFAULT_CHECK_SEVERITIES = Object.fromEntries(
  QUALITY_CHECKS.map((check) => [check, CHECKS[check].severity]),
) as Record<QualityCheck, Severity>;

const checksShape = Object.fromEntries(
  QUALITY_CHECKS.map((check) => [
    check,
    z
      .enum(SEVERITIES)
      .default(CHECKS[check].severity)
      .describe(
        `Severity of ${check} findings (${CHECKS[check].what}): error, warn or off. Default: ${CHECKS[check].severity}.`,
      ),
  ]),
) as Record<QualityCheck, z.ZodDefault<z.ZodEnum<{ [S in Severity]: S }>>>;

const checkOutputs = Object.fromEntries(
  QUALITY_CHECKS.map((check) => [
    check,
    { type: "integer", description: `Findings of the ${check} check (0 when it is off).` },
  ]),
) as Record<QualityCheck, StepOutput>;

const validateParams = z
  .strictObject({
    source: sourceName.describe("The bars_daily.source to check, e.g. polygon."),
    symbols: symbols
      .describe("Check only these ticker symbols. Default: every symbol of the source.")
      .optional(),
    ...optionalDateRangeShape,
    checks: z
      .strictObject(checksShape)
      .default(() => ({ ...DEFAULT_CHECK_SEVERITIES }))
      .describe(
        "Severity of each check (error, warn or off); checks left out keep their default. Default: nulls, ohlc_consistency, non_positive_price, negative_volume, duplicates: error; missing_sessions, stale_price, price_jump, cross_source: warn.",
      ),
    stale_sessions: z
      .number()
      .int()
      .min(2)
      .default(5)
      .describe("Consecutive sessions with an unchanged close that make a stale_price finding. Default: 5."),
    max_jump_pct: z
      .number()
      .gt(0)
      .default(25)
      .describe(
        "Largest close-to-close move, in percent, that is not a price_jump finding (25 = 25%). Default: 25.",
      ),
    compare_with: sourceName
      .describe(
        "Another bars_daily.source (e.g. yahoo) to compare closes with, for the cross_source check. Default: none (the check is skipped).",
      )
      .optional(),
    tolerance_bps: z
      .number()
      .min(0)
      .default(50)
      .describe(
        "Largest close difference against compare_with, in basis points (50 = 0.5%), that is not a cross_source finding. Default: 50.",
      ),
    fail_on: z
      .enum(["error", "warn", "never"])
      .default("error")
      .describe(
        "When the task fails: error (any error finding), warn (any error or warn finding) or never (findings are only recorded). Default: error.",
      ),
  })
  .superRefine((value, ctx) => {
    checkDateRange(value, ctx, "filter");
    if (value.compare_with !== undefined && value.compare_with === value.source) {
      ctx.addIssue({
        code: "custom",
        path: ["compare_with"],
        message: "compare_with must name another source than source",
      });
    }
  }, onObjects);

export const validateOhlcv = defineStep({
  name: "validate.ohlcv",
  summary: "Check bars_daily rows of a source for data problems; findings go to quality_results.",
  params: validateParams,
  outputs: {
    ...checkOutputs,
    errors: { type: "integer", description: "Findings with severity error." },
    warnings: { type: "integer", description: "Findings with severity warn." },
    rows_checked: { type: "integer", description: "bars_daily rows examined." },
  },
  run: (ctx, params) => validate(ctx, params),
});

type ValidateParams = z.output<typeof validateParams>;

/** The checked dates: `from`..`to`, both inclusive, either open. */
export interface CheckedRange {
  from?: string;
  to?: string;
}

/** `start`/`end` as given, or the `days_back` NYSE sessions ending at the run date; default: all dates. */
export function checkedRange(
  params: { start?: string | undefined; end?: string | undefined; days_back?: number | undefined },
  runDate: string,
): CheckedRange {
  if (params.days_back !== undefined) {
    const sessions = sessionsBack(runDate, params.days_back);
    return { from: sessions.start, to: sessions.end };
  }
  const range: CheckedRange = {};
  if (params.start !== undefined) range.from = params.start;
  if (params.end !== undefined) range.to = params.end;
  return range;
}

let tempCounter = 0;

/** The scratch tables of one validation (TEMP, on the step's DuckDB connection). */
interface CheckTables {
  /** The bars read: bars_daily, or on PostgreSQL a copy of the scope's bars. */
  bars: string;
  /** The splits read: corporate_actions, or on PostgreSQL a copy of its splits. */
  actions: string;
  symbols: string;
  sessions: string;
  findings: string;
}

/**
 * Runs the enabled checks in one statement over the source's bars (history before the range
 * included, for the checks that look back) into a TEMP findings table, then replaces this run's
 * findings for the same scope in quality_results. On DuckDB all in one transaction (DELETE,
 * INSERT ... SELECT). On PostgreSQL the scope's bars and the splits are first copied, from one
 * snapshot, into TEMP tables of the scratch DuckDB (`ctx.db`), the same checks run there, and the
 * findings replace the old ones in one PostgreSQL transaction.
 */
async function validate(ctx: StepContext, params: ValidateParams): Promise<Record<string, unknown>> {
  const db = ctx.db;
  const exec = (sql: string) => runInterruptibly(db, sql, ctx.signal);
  const range = checkedRange(params, ctx.runDate);
  const id = `${process.pid}_${++tempCounter}`;
  const tables: CheckTables = {
    bars: ctx.pg === undefined ? "bars_daily" : `temp.main.validate_bars_${id}`,
    actions: ctx.pg === undefined ? "corporate_actions" : `temp.main.validate_actions_${id}`,
    symbols: `temp.main.validate_symbols_${id}`,
    sessions: `temp.main.validate_sessions_${id}`,
    findings: `temp.main.validate_findings_${id}`,
  };
  const temp = { schema: "main", catalog: "temp" };

  try {
    if (params.symbols !== undefined) {
      await exec(`CREATE TEMP TABLE validate_symbols_${id} (symbol VARCHAR)`);
      await appendColumns(
        db,
        `validate_symbols_${id}`,
        [{ type: VARCHAR, values: [...new Set<string>(params.symbols)] }],
        temp,
      );
    }
    let rowsChecked: number;
    if (ctx.pg !== undefined) {
      rowsChecked = await validateOnPg(ctx, ctx.pg, params, range, tables, id);
    } else {
      // One transaction from the first read to the write: the counts, the findings and what they
      // replace all see the same snapshot of bars_daily, and a failure or abort leaves nothing.
      await exec("BEGIN TRANSACTION");
      try {
        rowsChecked = await findIssues(exec, db, params, range, tables, id);
        const source = quoteString(params.source);
        const scope = [`run_id = ${quoteString(ctx.runId)}`, `source = ${source}`];
        if (params.symbols !== undefined)
          scope.push(`trim(symbol) IN (SELECT symbol FROM ${tables.symbols})`);
        if (range.from !== undefined) scope.push(`date >= DATE ${quoteString(range.from)}`);
        if (range.to !== undefined) scope.push(`date <= DATE ${quoteString(range.to)}`);
        await exec(`DELETE FROM quality_results WHERE ${scope.join(" AND ")}`);
        await exec(`INSERT INTO quality_results (run_id, source, symbol, date, check_name, severity, message, created_at)
        SELECT ${quoteString(ctx.runId)}, source, symbol, date, check_name, severity, message, now()
        FROM ${tables.findings} ORDER BY check_name, symbol, date`);
        await exec("COMMIT");
      } catch (err) {
        await db.run("ROLLBACK").catch(() => undefined);
        throw err;
      }
    }

    const counts = Object.fromEntries(QUALITY_CHECKS.map((check) => [check, 0])) as Record<
      QualityCheck,
      number
    >;
    let errors = 0;
    let warnings = 0;
    const summary = (
      await exec(`SELECT check_name, severity, count(*)::BIGINT AS n FROM ${tables.findings} GROUP BY ALL`)
    ).getRowObjectsJson();
    for (const row of summary) {
      const n = Number(row.n);
      countQualityFindings(String(row.check_name), String(row.severity), n);
      counts[row.check_name as QualityCheck] += n;
      if (row.severity === "error") errors += n;
      else warnings += n;
    }

    const where = describeScope(params, range);
    if (rowsChecked === 0) {
      ctx.log(
        "warn",
        `validate.ohlcv: no bars_daily rows for source ${params.source}${where}: nothing to check`,
      );
    } else {
      const found = QUALITY_CHECKS.filter((c) => counts[c] > 0).map((c) => `${c} ${counts[c]}`);
      ctx.log(
        errors > 0 ? "error" : warnings > 0 ? "warn" : "info",
        `validate.ohlcv: checked ${rowsChecked} bars of source ${params.source}${where}: ${errors} error(s), ${warnings} warning(s)${found.length > 0 ? ` (${found.join(", ")})` : ""}`,
      );
    }

    const failing =
      params.fail_on === "error" ? ["error"] : params.fail_on === "warn" ? ["error", "warn"] : [];
    const failures = failing.includes("warn") ? errors + warnings : failing.length > 0 ? errors : 0;
    if (failures > 0) {
      throw new Error(await failureMessage(exec, tables.findings, failing, params.source));
    }
    return { ...counts, errors, warnings, rows_checked: rowsChecked };
  } finally {
    const own = [tables.symbols, tables.sessions, tables.findings];
    if (ctx.pg !== undefined) own.push(tables.bars, tables.actions);
    for (const table of own) {
      await db.run(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    }
  }
}

/**
 * Counts the checked bars and fills the findings table with the enabled checks' findings, reading
 * `tables.bars` and `tables.actions` on `db`.
 * @returns the bars in the checked range.
 */
async function findIssues(
  exec: (sql: string) => Promise<DuckDBResultReader>,
  db: DuckDBConnection,
  params: ValidateParams,
  range: CheckedRange,
  tables: CheckTables,
  id: string,
): Promise<number> {
  const source = quoteString(params.source);
  // Symbols match without surrounding whitespace, as the duplicates check compares them: `AAPL `
  // is in scope when AAPL is asked for, so that its duplicate of AAPL is found.
  const symbolFilter =
    params.symbols === undefined ? "" : ` AND trim(symbol) IN (SELECT symbol FROM ${tables.symbols})`;
  const upTo = range.to === undefined ? "" : ` AND date <= DATE ${quoteString(range.to)}`;
  const inRange = range.from === undefined ? "true" : `date >= DATE ${quoteString(range.from)}`;
  const bars = (of: string) =>
    `SELECT *, ${inRange} AS in_range FROM ${tables.bars} WHERE source = ${of}${symbolFilter}${upTo}`;

  const [stats] = (
    await exec(`WITH scoped AS (${bars(source)})
    SELECT count(*)::BIGINT AS n, CAST(min(date) AS VARCHAR) AS first_date, CAST(max(date) AS VARCHAR) AS last_date
    FROM scoped WHERE in_range`)
  ).getRowObjectsJson();
  const rowsChecked = Number(stats?.n ?? 0);

  const severity = params.checks;
  const parts: string[] = [];
  const add = (check: QualityCheck, sql: string) => {
    const level = severity[check];
    if (level !== "off") {
      parts.push(
        `SELECT '${check}' AS check_name, '${level}' AS severity, source, symbol, date, message FROM (${sql})`,
      );
    }
  };
  add("nulls", nullsSql("scoped"));
  add("ohlc_consistency", ohlcConsistencySql("scoped"));
  add("non_positive_price", nonPositivePriceSql("scoped"));
  add("negative_volume", negativeVolumeSql("scoped"));
  add("duplicates", duplicatesSql("scoped"));
  if (severity.missing_sessions !== "off" && rowsChecked > 0) {
    await createSessions(
      exec,
      db,
      `validate_sessions_${id}`,
      String(stats?.first_date),
      String(stats?.last_date),
    );
    add("missing_sessions", missingSessionsSql("scoped", tables.sessions));
  }
  add("stale_price", stalePriceSql("scoped", params.stale_sessions));
  add("price_jump", priceJumpSql("scoped", params.max_jump_pct, tables.actions));
  if (params.compare_with !== undefined) {
    add("cross_source", crossSourceSql("scoped", "compared", params.compare_with, params.tolerance_bps));
  }

  await exec(`CREATE TEMP TABLE validate_findings_${id} (check_name VARCHAR, severity VARCHAR, source VARCHAR,
  symbol VARCHAR, date DATE, message VARCHAR)`);
  if (parts.length > 0 && rowsChecked > 0) {
    const compared =
      params.compare_with === undefined ? "" : `, compared AS (${bars(quoteString(params.compare_with))})`;
    await exec(`INSERT INTO ${tables.findings}
    WITH scoped AS (${bars(source)})${compared}
    ${parts.join("\nUNION ALL\n")}`);
  }
  return rowsChecked;
}

/**
 * validate.ohlcv's PostgreSQL side: copies the scope's bars and the splits into the scratch
 * DuckDB, runs the checks there, and replaces the run's findings in PostgreSQL.
 * @returns the bars in the checked range.
 */
async function validateOnPg(
  ctx: StepContext,
  pgDb: PgDb,
  params: ValidateParams,
  range: CheckedRange,
  tables: CheckTables,
  id: string,
): Promise<number> {
  const { copyCheckedBarsPg, replaceQualityResultsPg } = await import("../store/pg/quality-results.js");
  const { poolOf } = await import("../store/pg/step-pool.js");
  const db = ctx.db;
  const exec = (sql: string) => runInterruptibly(db, sql, ctx.signal);
  const scope = {
    source: params.source,
    compareWith: params.compare_with,
    symbols: params.symbols === undefined ? undefined : [...new Set(params.symbols)],
    from: range.from,
    to: range.to,
  };
  await copyCheckedBarsPg(
    poolOf(pgDb),
    db,
    { bars: `validate_bars_${id}`, actions: `validate_actions_${id}` },
    scope,
    ctx.signal,
  );
  const rowsChecked = await findIssues(exec, db, params, range, tables, id);
  const findings = (
    await exec(`SELECT check_name, severity, source, symbol, CAST(date AS VARCHAR) AS date, message
      FROM ${tables.findings} ORDER BY check_name, symbol, date`)
  ).getRowObjectsJS() as unknown as QualityFinding[];
  ctx.signal.throwIfAborted();
  await replaceQualityResultsPg(pgDb, ctx.runId, scope, findings);
  return rowsChecked;
}

/** The failure: counts per check of the failing severities, and a few examples (symbol, date). */
async function failureMessage(
  exec: (sql: string) => Promise<{ getRowObjectsJson(): Record<string, unknown>[] }>,
  findings: string,
  severities: string[],
  source: string,
): Promise<string> {
  const levels = severities.map((s) => `'${s}'`).join(", ");
  const counts = (
    await exec(`SELECT check_name, count(*)::BIGINT AS n FROM ${findings} WHERE severity IN (${levels})
      GROUP BY check_name ORDER BY check_name`)
  ).getRowObjectsJson();
  const examples = (
    await exec(`SELECT check_name, symbol, CAST(date AS VARCHAR) AS date, message FROM ${findings}
      WHERE severity IN (${levels})
      QUALIFY row_number() OVER (PARTITION BY check_name ORDER BY symbol, date) <= 2
      ORDER BY check_name, symbol, date LIMIT 6`)
  ).getRowObjectsJson();
  const total = counts.reduce((n, row) => n + Number(row.n), 0);
  const perCheck = counts.map((row) => `${String(row.check_name)}: ${String(row.n)}`).join(", ");
  const shown = examples
    .map(
      (row) => `${String(row.check_name)} ${String(row.symbol)} ${String(row.date)} (${String(row.message)})`,
    )
    .join("; ");
  const kind = severities.length > 1 ? "error or warn" : "error";
  return `validate.ohlcv: ${total} ${kind} finding(s) in source ${source} (${perCheck}); e.g. ${shown}`;
}

/** " (symbols A, B; dates X to Y)" for the log line; "" when everything is checked. */
function describeScope(params: ValidateParams, range: CheckedRange): string {
  const parts: string[] = [];
  if (params.symbols !== undefined) parts.push(`symbols ${params.symbols.join(", ")}`);
  if (range.from !== undefined || range.to !== undefined) {
    parts.push(`dates ${range.from ?? "(first)"} to ${range.to ?? "(last)"}`);
  }
  return parts.length > 0 ? ` (${parts.join("; ")})` : "";
}

/** A TEMP table `(date DATE)` of every NYSE session from `first` to `last` (within the calendar's years). */
async function createSessions(
  exec: (sql: string) => Promise<unknown>,
  db: DuckDBConnection,
  table: string,
  first: string,
  last: string,
): Promise<void> {
  await exec(`CREATE TEMP TABLE ${table} (date DATE)`);
  const from = first < `${XNYS_FIRST_YEAR}-01-01` ? `${XNYS_FIRST_YEAR}-01-01` : first;
  const to = last > `${XNYS_LAST_YEAR}-12-31` ? `${XNYS_LAST_YEAR}-12-31` : last;
  if (from > to) return;
  const days = sessionsBetween(from, to).map((d) => dateValue(Date.parse(`${d}T00:00:00Z`) / 86_400_000));
  await appendColumns(db, table, [{ type: DATE, values: days }], { schema: "main", catalog: "temp" });
}

/** Runs one statement; an abort of `signal` interrupts it and rejects. */
function runInterruptibly(db: DuckDBConnection, sql: string, signal: AbortSignal) {
  return interruptibly(db, signal, () => db.runAndReadAll(sql));
}
