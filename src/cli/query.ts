/** `tickflow query SQL`: one read-only statement, through the control plane (the daemon's API while it runs). */
import { type ControlFlags, withControl } from "./control.js";
import { cellText, formatCsv, formatTable, UsageError } from "./output.js";

export async function queryCommand(
  sql: string,
  options: ControlFlags & { format: "table" | "csv" | "json"; limit?: string },
): Promise<number> {
  const limit = options.limit === undefined ? undefined : Number(options.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 100_000)) {
    throw new UsageError(`--limit expects a whole number from 1 to 100000, got "${options.limit}"`);
  }
  return withControl(options, "read", async (control) => {
    const result = await control.query(sql, limit === undefined ? {} : { limit });
    if (options.format === "json") process.stdout.write(`${JSON.stringify(result.rows, null, 2)}\n`);
    else {
      const header = result.columns.map((c) => c.name);
      const cells = result.rows.map((r) => header.map((h) => cellText(r[h])));
      process.stdout.write(options.format === "csv" ? formatCsv(header, cells) : formatTable(header, cells));
    }
    if (result.truncated) {
      process.stderr.write(
        `tickflow: only the first ${result.limit} rows are shown (--limit raises it, up to 100000)\n`,
      );
    }
    return 0;
  });
}
