/** What happened to one symbol: its corporate actions and quality findings (the console's chart markers). */
import type { DuckDBConnection } from "@duckdb/node-api";
import { asString, rowObjects } from "./values.js";

export interface SymbolEvents {
  corporate_actions: { date: string; kind: "split" | "dividend"; value: number | null }[];
  quality: {
    run_id: string | null;
    date: string | null;
    check_name: string;
    severity: string;
    message: string | null;
  }[];
}

/**
 * The corporate actions of (source, symbol) by date, and its quality findings (those of the
 * source, and those naming no source), newest run's first, at most `maxQuality`.
 */
export async function symbolEvents(
  db: DuckDBConnection,
  source: string,
  symbol: string,
  maxQuality: number,
): Promise<SymbolEvents> {
  const actions = rowObjects(
    await db.runAndReadAll(
      `SELECT date::VARCHAR AS date, kind, value FROM corporate_actions
       WHERE source = $source AND symbol = $symbol ORDER BY date, kind`,
      { source, symbol },
    ),
  );
  const quality = rowObjects(
    await db.runAndReadAll(
      `SELECT run_id, date::VARCHAR AS date, check_name, severity, message FROM quality_results
       WHERE symbol = $symbol AND (source = $source OR source IS NULL)
       ORDER BY created_at DESC NULLS LAST, run_id DESC NULLS LAST, date, check_name
       LIMIT ${Math.max(0, Math.trunc(maxQuality))}`,
      { source, symbol },
    ),
  );
  return toSymbolEvents(actions, quality);
}

/** Rows of corporate_actions (date, kind, value) and quality_results (run_id, date, ...) as `SymbolEvents`. */
export function toSymbolEvents(
  actions: readonly Record<string, unknown>[],
  quality: readonly Record<string, unknown>[],
): SymbolEvents {
  return {
    corporate_actions: actions.map((r) => ({
      date: String(r.date),
      kind: String(r.kind) as "split" | "dividend",
      value: typeof r.value === "number" && Number.isFinite(r.value) ? r.value : null,
    })),
    quality: quality.map((r) => ({
      run_id: asString(r.run_id),
      date: asString(r.date),
      check_name: String(r.check_name),
      severity: String(r.severity),
      message: asString(r.message),
    })),
  };
}
