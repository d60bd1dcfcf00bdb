/**
 * The two backends behind one name: the embedded DuckDB file (`Store`, the default) or PostgreSQL
 * (`PgStore`, `TICKFLOW_DB=postgresql://...`, SPEC section 12). Code that works on either takes an
 * `AnyStore` and asks `isPgStore`; each store operation has one function per backend (DuckDB's in
 * this folder, PostgreSQL's in `pg/`), chosen in one place per family (`run-records.ts`, ...).
 */
import type { Store } from "./open.js";
import type { PgStore } from "./pg/pool.js";

export type AnyStore = Store | PgStore;

export function isPgStore(store: AnyStore): store is PgStore {
  return (store as PgStore).backend === "postgresql";
}

/** What messages name the database by: the file's path, or the URL with its password masked. */
export function storeDisplay(store: AnyStore): string {
  return isPgStore(store) ? store.display : store.path;
}
