import { loadSettings } from "../config/settings.js";
import { openStore, type Store, StoreError } from "../store/index.js";
import { checkDbFlag } from "./control.js";
import { ReportedFailure } from "./output.js";

/** Opens the database for a command; a locked or unreadable file is a clear one-line error (exit 1). */
export async function openStoreForCli(path: string, options: { readOnly?: boolean } = {}): Promise<Store> {
  try {
    return await openStore(path, options);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // Store errors name the file and the reason already.
    process.stderr.write(
      `tickflow: ${err instanceof StoreError ? message : `cannot open database ${path}: ${message}`}\n`,
    );
    throw new ReportedFailure();
  }
}

/** `--db`, else the settings' TICKFLOW_DB (default ./tickflow.duckdb). */
export function databasePath(flag: string | undefined): string {
  checkDbFlag(flag);
  return flag ?? loadSettings().TICKFLOW_DB;
}

/** Runs `work` with the database open, and closes it afterwards whatever happens. */
export async function withStore<T>(
  path: string,
  options: { readOnly?: boolean },
  work: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await openStoreForCli(path, options);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
