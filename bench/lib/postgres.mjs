// A PostgreSQL server for the benchmarks: TICKFLOW_BENCH_PG_URL's (a superuser's URL of a running
// server), else a throwaway one started as the tests start theirs (src/store/pg/throwaway-server.ts,
// through dist/: Debian's initdb + pg_ctl in a temporary folder, a free port, fsync off). Each
// benchmark gets fresh databases of its own, dropped at the end.
//
//   const pg = await benchPostgres();
//   if (pg.skipped) console.log(`... skipped: ${pg.skipped}`);
//   else { const url = await pg.database("ingest"); ...; await pg.close(); }
const { adminStatement, noThrowawayServerReason, startThrowawayPostgres } = await import(
  new URL("../../dist/store/pg/throwaway-server.js", import.meta.url).href
);

let counter = 0;

/** A server to benchmark on, or `{ skipped: reason }` when there is none. */
export async function benchPostgres() {
  const given = process.env.TICKFLOW_BENCH_PG_URL;
  let base;
  let stop = () => {};
  if (given) {
    const url = new URL(given);
    url.pathname = "";
    url.search = "";
    base = url.href.replace(/\/$/, "");
  } else {
    const reason = noThrowawayServerReason();
    if (reason) return { skipped: `${reason}, or set TICKFLOW_BENCH_PG_URL` };
    // Bulk loads would otherwise checkpoint every 1 GB of WAL; the same for every figure compared.
    const server = await startThrowawayPostgres({ settings: { max_wal_size: "8GB" } });
    base = server.base;
    stop = server.stop;
  }
  const made = [];
  return {
    skipped: undefined,
    /** The URL of a new, empty database. */
    async database(name) {
      const db = `bench_${process.pid}_${++counter}_${name}`;
      await adminStatement(base, `CREATE DATABASE ${db}`);
      made.push(db);
      return `${base}/${db}`;
    },
    async close() {
      if (given)
        for (const db of made) await adminStatement(base, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      stop();
    },
  };
}
