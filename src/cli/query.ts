/** `tickflow query SQL`: one read-only statement, through the control plane (the daemon's API while it runs). */
import { MAX_QUERY_ROWS } from "../control/control-plane.js";
import { type ControlFlags, withControl } from "./control.js";
import { RowPrinter, UsageError } from "./output.js";

/**
 * Rows are printed as they are read (`RowPrinter`), so over the database every row is printed
 * unless `--limit` says otherwise (0 also means every row), in flat memory. Through the daemon the
 * API's cap holds (its answer is one document): 100,000 rows unless `--limit` asks for fewer.
 */
export async function queryCommand(
  sql: string,
  options: ControlFlags & { format: "table" | "csv" | "json"; limit?: string },
): Promise<number> {
  const limit = options.limit === undefined ? undefined : Number(options.limit);
  if (limit !== undefined && (!/^\d+$/.test(options.limit!) || !Number.isSafeInteger(limit))) {
    throw new UsageError(`--limit expects a whole number (0: every row), got "${options.limit}"`);
  }
  return withControl(options, "read", async (control) => {
    const daemon = control.target.kind === "daemon";
    if (daemon && limit !== undefined && (limit === 0 || limit > MAX_QUERY_ROWS)) {
      throw new UsageError(
        `--limit ${limit}: through the daemon's API (${control.target.url}) at most ${MAX_QUERY_ROWS} rows; more need the database without a daemon holding it`,
      );
    }
    const wanted = limit ?? (daemon ? MAX_QUERY_ROWS : 0);
    const printer = new RowPrinter(options.format);
    let last: { truncated: boolean; limit: number } | undefined;
    for await (const chunk of control.queryChunks(sql, { limit: wanted })) {
      await printer.write(
        chunk.columns.map((c) => c.name),
        chunk.rows,
      );
      last = chunk;
    }
    await printer.end();
    if (last?.truncated) {
      const more = daemon ? `up to ${MAX_QUERY_ROWS} through the daemon` : "--limit 0 prints every row";
      process.stderr.write(
        `tickflow: only the first ${last.limit} rows are shown (--limit raises it; ${more})\n`,
      );
    }
    return 0;
  });
}
