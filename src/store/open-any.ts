/**
 * Opens the store a location names: a DuckDB file path (`openStore`), or a PostgreSQL URL
 * (`postgresql://` or `postgres://`, SPEC section 12): the pool, then the schema brought up to date
 * as opening a DuckDB file for writing does (read-only: checked, never migrated).
 */
import type { AnyStore } from "./backend.js";
import { StoreError } from "./errors.js";
import { LATEST_VERSION, SchemaTooNewError } from "./migrate.js";
import { type OpenOptions, openStore } from "./open.js";
import { migratePg, pgSchemaVersion } from "./pg/migrate.js";
import { openPgPool, type PgOpenOptions, type PgStore } from "./pg/pool.js";
import { isPostgresUrl } from "./pg/url.js";

export async function openAnyStore(
  location: string,
  options: OpenOptions & { pg?: PgOpenOptions } = {},
): Promise<AnyStore> {
  if (!isPostgresUrl(location)) return openStore(location, options);
  const store = await openPgPool(location, options.pg);
  try {
    if (options.readOnly) await checkPgSchema(store);
    else await migratePg(store.pool);
    return store;
  } catch (err) {
    await store.close().catch(() => undefined);
    if (err instanceof StoreError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new StoreError(`cannot open database ${store.display}: ${reason}`, store.display, { cause: err });
  }
}

async function checkPgSchema(store: PgStore): Promise<void> {
  const version = await pgSchemaVersion(store.pool);
  if (version > LATEST_VERSION)
    throw new StoreError(
      `cannot open database ${store.display}: ${new SchemaTooNewError(version, LATEST_VERSION).message}`,
      store.display,
    );
  if (version < LATEST_VERSION)
    throw new StoreError(
      `database ${store.display} has schema version ${version}, older than this tickflow needs (${LATEST_VERSION}): run \`tickflow db migrate\``,
      store.display,
    );
}
