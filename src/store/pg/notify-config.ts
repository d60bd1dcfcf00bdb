/**
 * The deployments file's notification parts on PostgreSQL: the twins of `../notify-config.ts`
 * (same records, same comparison: parsed and normalized, never jsonb's text, whose key order
 * differs from what was written).
 */
import { type NotifyRecords, normalized } from "../notify-config.js";
import { type PgDb, pgQuery, withPgTransaction } from "./transaction.js";

/** Replaces the registered notification parts; returns whether they changed. One transaction. */
export async function registerNotifyPg(db: PgDb, records: NotifyRecords): Promise<boolean> {
  return withPgTransaction(db, async (tx) => {
    // jsonb keeps object keys in an order of its own: compared as values, not as text.
    if (sameJson(JSON.stringify(await readNotifyPg(tx)), JSON.stringify(normalized(records)))) return false;
    await pgQuery(tx, "DELETE FROM notify_channels");
    await pgQuery(tx, "DELETE FROM notify_rules");
    await pgQuery(tx, "DELETE FROM notify_freshness");
    const { channels, rules, freshness } = records;
    await pgQuery(
      tx,
      `INSERT INTO notify_channels (name, type, definition)
       SELECT name, type, definition::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS c(name, type, definition)`,
      [
        channels.map((c) => c.name),
        channels.map((c) => c.type),
        channels.map((c) => JSON.stringify(c.definition)),
      ],
    );
    await pgQuery(
      tx,
      `INSERT INTO notify_rules (event, deployment, channel)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[])`,
      [rules.map((r) => r.event), rules.map((r) => r.deployment), rules.map((r) => r.channel)],
    );
    await pgQuery(
      tx,
      `INSERT INTO notify_freshness (position, definition)
       SELECT p - 1, d::jsonb FROM unnest($1::text[]) WITH ORDINALITY AS f(d, p)`,
      [freshness.map((f) => JSON.stringify(f))],
    );
    return true;
  });
}

/** Whether two JSON texts hold the same value, whatever the order of object keys. */
function sameJson(a: string, b: string): boolean {
  const sorted = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sorted)
      : value !== null && typeof value === "object"
        ? Object.fromEntries(
            Object.entries(value)
              .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
              .map(([k, v]) => [k, sorted(v)]),
          )
        : value;
  return JSON.stringify(sorted(JSON.parse(a))) === JSON.stringify(sorted(JSON.parse(b)));
}

/** What is registered (channels by name, rules sorted, freshness in file order). */
export async function readNotifyPg(db: PgDb): Promise<NotifyRecords> {
  const channels = (await pgQuery(db, "SELECT name, type, definition FROM notify_channels")).rows.map(
    (r) => ({
      name: String(r.name),
      type: String(r.type),
      definition: r.definition as Record<string, unknown>,
    }),
  );
  const rules = (await pgQuery(db, "SELECT event, deployment, channel FROM notify_rules")).rows.map((r) => ({
    event: String(r.event),
    deployment: r.deployment === null ? null : String(r.deployment),
    channel: String(r.channel),
  }));
  const freshness = (await pgQuery(db, "SELECT definition FROM notify_freshness ORDER BY position")).rows.map(
    (r) => r.definition as Record<string, unknown>,
  );
  return normalized({ channels, rules, freshness });
}
