/**
 * A process's name in the database (`runs.lease_owner`), held for its life: a session advisory
 * lock on a connection of its own. A second live process under the same name is refused (it would
 * otherwise "recover", that is crash, the first one's runs at its start); a killed process's
 * connection closes with it, so its restart gets the name back at once.
 */
import type pg from "pg";
import { StoreError } from "../errors.js";
import { dedicatedClient } from "./leadership.js";

export interface NameLock {
  release(): Promise<void>;
}

export async function holdNameLock(pool: pg.Pool, name: string, display: string): Promise<NameLock> {
  const client = dedicatedClient(pool, 10_000);
  client.on("error", () => {});
  await client.connect();
  let held = false;
  try {
    const result = await client.query<{ ok: boolean }>(
      "SELECT pg_try_advisory_lock(hashtextextended('tickflow:name:' || $1, 0)) AS ok",
      [name],
    );
    held = result.rows[0]?.ok === true;
  } finally {
    if (!held) await client.end().catch(() => {});
  }
  if (!held)
    throw new StoreError(
      `another live process on ${display} is named ${name}: give each daemon and worker its own name (--name or TICKFLOW_NAME)`,
      display,
    );
  return { release: () => client.end().catch(() => {}) };
}
