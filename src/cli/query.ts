import { withStore } from "./db.js";
import { cellText, formatCsv, formatTable, ReportedFailure } from "./output.js";

/** `tickflow query SQL`: read-only SQL over the database. */
export async function queryCommand(
  sql: string,
  options: { db: string; format: "table" | "csv" | "json" },
): Promise<number> {
  return withStore(options.db, { readOnly: true }, async (store) => {
    let reader: Awaited<ReturnType<typeof store.db.runAndReadAll>>;
    try {
      reader = await store.db.runAndReadAll(sql);
    } catch (err) {
      process.stderr.write(`tickflow: query failed: ${(err as Error).message}\n`);
      throw new ReportedFailure();
    }
    const rows = reader.getRowObjectsJson() as Record<string, unknown>[];
    if (options.format === "json") {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    const header = reader.columnNames();
    const cells = rows.map((r) => header.map((h) => cellText(r[h])));
    process.stdout.write(options.format === "csv" ? formatCsv(header, cells) : formatTable(header, cells));
    return 0;
  });
}
