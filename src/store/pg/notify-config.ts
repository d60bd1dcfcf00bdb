/**
 * The deployments file's notification parts on PostgreSQL: `registerNotify`'s twin
 * (../notify-config.ts), in the caller's transaction. jsonb hands definitions back in its own key
 * order: what is stored is compared with what the file says as stable JSON, not as text.
 */
import { stableJson } from "../../schedule/run-key.js";
import { type NotifyRecords, normalizedNotify } from "../notify-config.js";
import { type PgDb, pgQuery } from "./transaction.js";

/** What is registered (channels by name, rules sorted, freshness in file order). */
export async function readNotifyPg(db: PgDb): Promise<NotifyRecords> {
  const channels = (
    await pgQuery<{ name: string; type: string; definition: Record<string, unknown> }>(
      db,
      "SELECT name, type, definition FROM notify_channels",
    )
  ).rows.map((r) => ({ name: r.name, type: r.type, definition: r.definition }));
  const rules = (
    await pgQuery<{ event: string; deployment: string | null; channel: string }>(
      db,
      "SELECT event, deployment, channel FROM notify_rules",
    )
  ).rows.map((r) => ({ event: r.event, deployment: r.deployment, channel: r.channel }));
  const freshness = (
    await pgQuery<{ definition: Record<string, unknown> }>(
      db,
      "SELECT definition FROM notify_freshness ORDER BY position",
    )
  ).rows.map((r) => r.definition);
  return normalizedNotify({ channels, rules, freshness });
}

/** Replaces the registered notification parts; returns whether they changed. Call in a transaction. */
export async function registerNotifyPg(db: PgDb, records: NotifyRecords): Promise<boolean> {
  if (stableJson(await readNotifyPg(db)) === stableJson(normalizedNotify(records))) return false;
  await pgQuery(db, "DELETE FROM notify_channels");
  await pgQuery(db, "DELETE FROM notify_rules");
  await pgQuery(db, "DELETE FROM notify_freshness");
  await pgQuery(
    db,
    `INSERT INTO notify_channels (name, type, definition)
     SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[])`,
    [
      records.channels.map((c) => c.name),
      records.channels.map((c) => c.type),
      records.channels.map((c) => JSON.stringify(c.definition)),
    ],
  );
  await pgQuery(
    db,
    `INSERT INTO notify_rules (event, deployment, channel)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[])`,
    [
      records.rules.map((r) => r.event),
      records.rules.map((r) => r.deployment),
      records.rules.map((r) => r.channel),
    ],
  );
  await pgQuery(
    db,
    `INSERT INTO notify_freshness (position, definition)
     SELECT p - 1, d FROM unnest($1::jsonb[]) WITH ORDINALITY AS f(d, p)`,
    [records.freshness.map((f) => JSON.stringify(f))],
  );
  return true;
}
