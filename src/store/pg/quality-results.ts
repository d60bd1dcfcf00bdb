/**
 * validate.ohlcv on PostgreSQL: the bars and splits the checks read, copied into the scratch
 * DuckDB (where the checks run, the same SQL as on DuckDB), and the findings written back.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type pg from "pg";
import { copyToScratch } from "./to-scratch.js";
import { type PgDb, type PgTx, pgQuery, withPgTransaction } from "./transaction.js";

/** Which findings a check replaces, and which bars it reads. */
export interface QualityScope {
  source: string;
  /** The compare_with source, whose bars are read too (none written for it). */
  compareWith?: string | undefined;
  /** Matched without surrounding whitespace, as the checks match them. */
  symbols?: readonly string[] | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** One finding, as `quality_results` holds it. */
export interface QualityFinding {
  check_name: string;
  severity: string;
  source: string;
  symbol: string | null;
  date: string | null;
  message: string | null;
}

/**
 * Copies, from one snapshot, the bars of the scope's sources (every date up to `to`: the checks
 * that look back need the history before `from`) into `tables.bars`, and every split of
 * corporate_actions into `tables.actions`, TEMP tables of `duck`.
 * @returns the bars copied.
 */
export async function copyCheckedBarsPg(
  pool: pg.Pool,
  duck: DuckDBConnection,
  tables: { bars: string; actions: string },
  scope: QualityScope,
  signal?: AbortSignal,
): Promise<number> {
  const values: unknown[] = [[scope.source, ...(scope.compareWith === undefined ? [] : [scope.compareWith])]];
  let where = "source = ANY($1::text[])";
  if (scope.symbols !== undefined) {
    values.push([...scope.symbols]);
    where += ` AND trim(symbol) = ANY($${values.length}::text[])`;
  }
  if (scope.to !== undefined) {
    values.push(scope.to);
    where += ` AND date <= $${values.length}::date`;
  }
  const options = { signal, cancelVia: pool };
  return withPgTransaction(pool, async (tx) => {
    await pgQuery(tx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const bars = await copyToScratch(
      tx,
      {
        text: `SELECT source, symbol, date, open, high, low, close, volume FROM bars_daily WHERE ${where}`,
        values,
      },
      duck,
      tables.bars,
      options,
    );
    await copyToScratch(
      tx,
      { text: "SELECT source, symbol, date, kind, value FROM corporate_actions WHERE kind = 'split'" },
      duck,
      tables.actions,
      options,
    );
    return bars.rows;
  });
}

/**
 * Replaces run `runId`'s findings within `scope` (source, symbols, dates) by `findings`, in one
 * transaction (the caller's, when `db` is one); rows in the given order.
 */
export async function replaceQualityResultsPg(
  db: PgDb,
  runId: string,
  scope: QualityScope,
  findings: readonly QualityFinding[],
): Promise<void> {
  await withPgTransaction(db, async (tx) => {
    await deleteQualityResultsPg(tx, runId, scope);
    for (let offset = 0; offset < findings.length; offset += INSERT_ROWS) {
      await insertQualityResultsPg(tx, runId, findings.slice(offset, offset + INSERT_ROWS));
    }
  });
}

const INSERT_ROWS = 10_000;

async function deleteQualityResultsPg(tx: PgTx, runId: string, scope: QualityScope): Promise<void> {
  const values: unknown[] = [runId, scope.source];
  const where = ["run_id = $1", "source = $2"];
  if (scope.symbols !== undefined) {
    values.push([...scope.symbols]);
    where.push(`trim(symbol) = ANY($${values.length}::text[])`);
  }
  if (scope.from !== undefined) {
    values.push(scope.from);
    where.push(`date >= $${values.length}::date`);
  }
  if (scope.to !== undefined) {
    values.push(scope.to);
    where.push(`date <= $${values.length}::date`);
  }
  await pgQuery(tx, `DELETE FROM quality_results WHERE ${where.join(" AND ")}`, values);
}

async function insertQualityResultsPg(
  tx: PgTx,
  runId: string,
  findings: readonly QualityFinding[],
): Promise<void> {
  const column = <K extends keyof QualityFinding>(key: K) => findings.map((f) => f[key]);
  await pgQuery(
    tx,
    `INSERT INTO quality_results (run_id, source, symbol, date, check_name, severity, message, created_at)
     SELECT $1, f.source, f.symbol, f.date, f.check_name, f.severity, f.message, now()
     FROM unnest($2::text[], $3::text[], $4::date[], $5::text[], $6::text[], $7::text[])
       WITH ORDINALITY AS f(source, symbol, date, check_name, severity, message, n)
     ORDER BY f.n`,
    [
      runId,
      column("source"),
      column("symbol"),
      column("date"),
      column("check_name"),
      column("severity"),
      column("message"),
    ],
  );
}
