/**
 * What a retention rule touches: one or more "parts", each a table (or view) with the predicate
 * that picks its old rows, the physical table those rows are deleted from, and the query that
 * archives them with a `year` column to partition by. The predicates are plain SQL over constants
 * (the cutoff is fixed before anything runs), so archiving and deleting pick the same rows; SQL
 * that DuckDB and PostgreSQL read alike, so each backend runs the same parts.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { XNYS_TIMEZONE } from "../calendar/xnys.js";
import { FINAL_RUN_STATES } from "../store/states.js";
import type { Cutoff } from "./cutoff.js";

/** Run states after which a run never changes again: only such runs (and their rows) are pruned. */
export const FINISHED_RUN_STATES = FINAL_RUN_STATES;

/** Tables whose age is a timestamp (run history); the others are market data, aged by date. */
export const HISTORY_TABLES: readonly string[] = ["runs", "run_logs"];

export interface Part {
  /** Name reported in the outputs, and the archive subfolder when a rule has several parts. */
  table: string;
  /** What is read, counted and archived: a table or a view. */
  relation: string;
  /** The physical table the rows are deleted from. */
  deleteFrom: string;
  /** Picks the rows to go in `relation` (and in `deleteFrom`, unless `deleteWhere` says otherwise). */
  where: string;
  /** The same rows as `where`, over `deleteFrom` when its columns differ (indicator_values). */
  deleteWhere?: string;
  /** The rows to archive, with a trailing `year` column (hive partition). */
  archiveQuery: string;
}

export interface RuleTarget {
  table: string;
  source?: string | undefined;
}

/**
 * The parts of a rule, in delete order (rows that point at others first: `runs` comes last).
 * `indicators` is deleted from `indicator_values` when that physical table exists (the wide
 * layout, `indicators` then being a view over it), else from the `indicators` table.
 */
export async function retentionParts(
  tableExists: (name: string) => Promise<boolean>,
  rule: RuleTarget,
  cutoff: Cutoff,
): Promise<Part[]> {
  const date = dateLiteral(cutoff.date);
  const instant = timestampLiteral(cutoff.instant);
  const bySource = rule.source === undefined ? "" : ` AND source = ${stringLiteral(rule.source)}`;
  const finished = FINISHED_RUN_STATES.map(stringLiteral).join(", ");
  const dated = (table: string, deleteFrom = table): Part => {
    const where = `date < ${date}${bySource}`;
    return {
      table,
      relation: table,
      deleteFrom,
      where,
      archiveQuery: `SELECT *, ${yearOf("date")} AS year FROM ${table} WHERE ${where}`,
    };
  };
  switch (rule.table) {
    case "bars_daily":
    case "corporate_actions":
      return [dated(rule.table)];
    case "indicators": {
      const part = dated(
        "indicators",
        (await tableExists("indicator_values")) ? "indicator_values" : "indicators",
      );
      // indicator_values keys its rows by series (a source and symbol in indicator_series).
      if (part.deleteFrom === "indicator_values" && rule.source !== undefined) {
        part.deleteWhere = `date < ${date} AND series IN (SELECT id FROM indicator_series WHERE source = ${stringLiteral(rule.source)})`;
      }
      return [part];
    }
    case "quality_results": {
      // A result without a date (a check over a whole source) ages by when it was recorded.
      const where = `(date < ${date} OR (date IS NULL AND created_at < ${instant}))${bySource}`;
      const day = `COALESCE(date, CAST(created_at AT TIME ZONE '${XNYS_TIMEZONE}' AS DATE))`;
      return [
        {
          table: "quality_results",
          relation: "quality_results",
          deleteFrom: "quality_results",
          where,
          archiveQuery: `SELECT *, ${yearOf(day)} AS year FROM quality_results WHERE ${where}`,
        },
      ];
    }
    case "run_logs": {
      // Logs of a run that has not finished stay (its log is still being written).
      const where = `ts < ${instant} AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = run_logs.run_id AND r.state NOT IN (${finished}))`;
      return [
        {
          table: "run_logs",
          relation: "run_logs",
          deleteFrom: "run_logs",
          where,
          archiveQuery: `SELECT *, ${yearOf("ts AT TIME ZONE 'UTC'")} AS year FROM run_logs WHERE ${where}`,
        },
      ];
    }
    case "runs": {
      const runWhere = `created_at < ${instant} AND state IN (${finished})`;
      const doomed = `run_id IN (SELECT id FROM runs WHERE ${runWhere})`;
      // Rows of a run are archived under the year the run was created (UTC), like the run.
      const child = (table: string): Part => ({
        table,
        relation: table,
        deleteFrom: table,
        where: doomed,
        archiveQuery: `SELECT c.*, ${yearOf("r.created_at AT TIME ZONE 'UTC'")} AS year FROM ${table} c JOIN runs r ON r.id = c.run_id WHERE c.${doomed}`,
      });
      return [
        child("task_runs"),
        child("state_transitions"),
        child("run_logs"),
        // A run's notifications (delivered or given up long before: delivery gives up within hours).
        child("notify_outbox"),
        {
          table: "runs",
          relation: "runs",
          deleteFrom: "runs",
          where: runWhere,
          archiveQuery: `SELECT *, ${yearOf("created_at AT TIME ZONE 'UTC'")} AS year FROM runs WHERE ${runWhere}`,
        },
      ];
    }
    default:
      throw new Error(`no retention rule for table "${rule.table}"`);
  }
}

/** Whether a base table (not a view) of that name exists in the main schema. */
export async function tableExists(db: DuckDBConnection, name: string): Promise<boolean> {
  const reader = await db.runAndReadAll(
    "SELECT count(*)::INTEGER FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = $name AND NOT temporary",
    { name },
  );
  return Number(reader.getRows()[0]?.[0]) > 0;
}

/** The year of a date or timestamp, as an integer: SQL both DuckDB and PostgreSQL read alike. */
function yearOf(expr: string): string {
  return `CAST(extract(year FROM ${expr}) AS INTEGER)`;
}

export function stringLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function dateLiteral(date: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`invalid cutoff date "${date}"`);
  return `DATE '${date}'`;
}

function timestampLiteral(instant: Date): string {
  if (Number.isNaN(instant.getTime())) throw new Error("invalid cutoff instant");
  return `TIMESTAMPTZ '${instant.toISOString()}'`;
}
