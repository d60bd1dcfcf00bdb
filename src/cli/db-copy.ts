/**
 * `tickflow db copy --from FILE.duckdb --to postgresql://...`: moves an installation's database from
 * its DuckDB file to PostgreSQL (`../store/pg/copy-from-duckdb.ts`): all of it or nothing, each
 * table's progress on stderr, the rows per table on stdout (`--json`: one object).
 */
import { formatDuration } from "../config/duration.js";
import { StoreError } from "../store/errors.js";
import { openDuckDbAsItIs } from "../store/info.js";
import type { CopyProgress, CopySummary } from "../store/pg/copy-from-duckdb.js";
import { isPostgresUrl, maskDatabaseUrl } from "../store/pg/url.js";
import { scrubSecrets } from "./db.js";
import { ReportedFailure, UsageError } from "./output.js";

export interface DbCopyOptions {
  from: string;
  to: string;
  force?: boolean;
  json?: boolean;
}

/** How often a long table reports its progress (the others report once, when done). */
const PROGRESS_EVERY_MS = 5000;

export async function dbCopyCommand(opts: DbCopyOptions): Promise<number> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(opts.from)) {
    throw new UsageError("--from: the DuckDB file to copy, a path (copying from a URL is not supported)");
  }
  if (!isPostgresUrl(opts.to)) throw new UsageError("--to: a postgresql:// (or postgres://) URL");
  const shownTo = maskDatabaseUrl(opts.to);
  let summary: CopySummary;
  let path = opts.from;
  try {
    const [{ migratePg }, { openPgPool }, { copyDuckDbToPg }] = await Promise.all([
      import("../store/pg/migrate.js"),
      import("../store/pg/pool.js"),
      import("../store/pg/copy-from-duckdb.js"),
    ]);
    const { instance, absolute } = await openDuckDbAsItIs(opts.from);
    path = absolute;
    try {
      const duck = await instance.connect();
      try {
        const target = await openPgPool(opts.to, { max: 2 });
        try {
          await migratePg(target.pool);
          process.stderr.write(`copying ${absolute} to ${target.display}\n`);
          summary = await copyDuckDbToPg({ db: duck, path: absolute }, target, {
            force: opts.force === true,
            onProgress: progressLines(process.stderr),
          });
        } finally {
          await target.close();
        }
      } finally {
        duck.closeSync();
      }
    } finally {
      instance.closeSync();
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // Store errors name the databases already (the URL masked).
    const line = err instanceof StoreError ? message : `cannot copy ${path} to ${shownTo}: ${message}`;
    process.stderr.write(`tickflow: ${scrubSecrets(line, opts.to)}\n`);
    throw new ReportedFailure();
  }
  for (const t of summary.tables.filter((t) => t.altered > 0)) {
    process.stderr.write(
      `warning: ${t.table}: ${t.altered} text ${t.altered === 1 ? "value" : "values"} held U+0000, which PostgreSQL cannot store: copied with U+FFFD instead\n`,
    );
  }
  if (opts.json) {
    const tables = Object.fromEntries(summary.tables.map((t) => [t.table, t.rows]));
    const altered = Object.fromEntries(
      summary.tables.filter((t) => t.altered > 0).map((t) => [t.table, t.altered]),
    );
    const record = {
      from: path,
      to: shownTo,
      schema_version: summary.schemaVersion,
      tables,
      rows: summary.rows,
      seconds: Math.round(summary.ms) / 1000,
      ...(Object.keys(altered).length > 0 ? { altered } : {}),
    };
    process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
    return 0;
  }
  const width = Math.max(...summary.tables.map((t) => t.table.length));
  const lines = summary.tables.map((t) => `  ${t.table.padEnd(width)}  ${String(t.rows).padStart(10)}\n`);
  process.stdout.write(
    `copied ${path} to ${shownTo} (schema version ${summary.schemaVersion}): ${summary.rows} rows in ${formatDuration(summary.ms)}\n${lines.join("")}`,
  );
  return 0;
}

/** Progress as plain lines: each table when done, and a long one every few seconds meanwhile. */
function progressLines(stream: NodeJS.WritableStream): (p: CopyProgress) => void {
  let tableStarted = 0;
  let lastLine = 0;
  return (p) => {
    const now = performance.now();
    if (p.rows === 0 && !p.done) {
      tableStarted = now;
      lastLine = now;
      return;
    }
    if (p.done) {
      stream.write(`  ${p.table}: ${p.rows} rows (${formatDuration(now - tableStarted)})\n`);
    } else if (now - lastLine >= PROGRESS_EVERY_MS) {
      lastLine = now;
      stream.write(`  ${p.table}: ${p.rows} of ${p.total} rows...\n`);
    }
  };
}
