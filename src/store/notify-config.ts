/**
 * The deployments file's notification parts as registered: channels (definitions with their
 * `${{ env.X }}` references, never resolved values), rules expanded to one row per (event,
 * deployment, channel), freshness rules. Written whole by `deploy`; read by the daemon's sender.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { VARCHAR } from "@duckdb/node-api";

export interface NotifyRecords {
  channels: { name: string; type: string; definition: Record<string, unknown> }[];
  /** deployment null: every deployment. */
  rules: { event: string; deployment: string | null; channel: string }[];
  freshness: Record<string, unknown>[];
}

export const NO_NOTIFY: NotifyRecords = { channels: [], rules: [], freshness: [] };

/** Replaces the registered notification parts; returns whether they changed. Call in a transaction. */
export async function registerNotify(db: DuckDBConnection, records: NotifyRecords): Promise<boolean> {
  const before = JSON.stringify(await readNotify(db));
  const after = JSON.stringify(normalizedNotify(records));
  if (before === after) return false;
  await db.run("DELETE FROM notify_channels");
  await db.run("DELETE FROM notify_rules");
  await db.run("DELETE FROM notify_freshness");
  for (const c of records.channels)
    await db.run("INSERT INTO notify_channels VALUES ($name, $type, $definition::JSON)", {
      name: c.name,
      type: c.type,
      definition: JSON.stringify(c.definition),
    });
  for (const r of records.rules)
    await db.run("INSERT INTO notify_rules VALUES ($event, $deployment, $channel)", r, {
      deployment: VARCHAR,
    });
  for (const [position, f] of records.freshness.entries())
    await db.run("INSERT INTO notify_freshness VALUES ($position, $definition::JSON)", {
      position,
      definition: JSON.stringify(f),
    });
  return true;
}

/** The records in a canonical order (channels by name, rules sorted): both backends compare these. */
export function normalizedNotify(r: NotifyRecords): NotifyRecords {
  const key = (x: unknown) => JSON.stringify(x);
  return {
    channels: [...r.channels].sort((a, b) => a.name.localeCompare(b.name)),
    rules: [...r.rules].sort((a, b) => key(a).localeCompare(key(b))),
    freshness: r.freshness,
  };
}

/** What is registered (channels by name, rules sorted, freshness in file order). */
export async function readNotify(db: DuckDBConnection): Promise<NotifyRecords> {
  const channels = (
    await db.runAndReadAll("SELECT name, type, definition::VARCHAR AS d FROM notify_channels")
  )
    .getRowObjectsJS()
    .map((r) => ({
      name: String(r.name),
      type: String(r.type),
      definition: JSON.parse(String(r.d)) as Record<string, unknown>,
    }));
  const rules = (await db.runAndReadAll("SELECT event, deployment, channel FROM notify_rules"))
    .getRowObjectsJS()
    .map((r) => ({
      event: String(r.event),
      deployment: r.deployment === null ? null : String(r.deployment),
      channel: String(r.channel),
    }));
  const freshness = (
    await db.runAndReadAll("SELECT definition::VARCHAR AS d FROM notify_freshness ORDER BY position")
  )
    .getRowObjectsJS()
    .map((r) => JSON.parse(String(r.d)) as Record<string, unknown>);
  return normalizedNotify({ channels, rules, freshness });
}
