/**
 * The outbox as the sender and the freshness check use it, on either backend: one small interface
 * (`OutboxStore`) with a DuckDB side (a connection, its lock and transactions) and a PostgreSQL
 * side (the pool). The SQL stays in the store (`../store/notify-*.ts`, `../store/pg/notify-*.ts`).
 *
 * The one difference callers see: on PostgreSQL several daemons may run a sender at once, so
 * `due` holds what it returns (no other sender takes it for `holdMs`); DuckDB's file has one
 * daemon, one sender, and `due` only reads.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { type AnyStore, isPgStore } from "../store/backend.js";
import {
  type AttemptOutcome,
  type Connection,
  dueMessages,
  enqueueMessages,
  type NotifyRecords,
  type OutboxMessage,
  type OutboxRow,
  readNotify,
  recordAttempt,
  withConnectionLock,
  withTransaction,
} from "../store/index.js";
import {
  claimDueMessagesPg,
  enqueueMessagesPg,
  hasSessionBarsPg,
  type PgDb,
  readNotifyPg,
  recordAttemptPg,
  staleSessionsPg,
  withPgTransaction,
} from "../store/pg/index.js";

/** What the freshness check reads and writes, inside one transaction. */
export interface FreshnessTx {
  hasBars(source: string, session: string): Promise<boolean>;
  /** Sessions of `source` announced Stale to `channel` and not Recovered yet. */
  staleSessions(source: string, channel: string): Promise<string[]>;
  /** Inserts messages whose key is new; returns the keys inserted. */
  enqueue(messages: readonly OutboxMessage[], at: Date): Promise<string[]>;
}

export interface OutboxStore {
  readonly outbox: "duckdb" | "postgresql";
  /** Messages due at `now`, oldest first, at most `limit`, and the registered channels. */
  due(
    now: Date,
    limit: number,
    holdMs: number,
  ): Promise<{ due: OutboxRow[]; channels: NotifyRecords["channels"] }>;
  record(key: string, outcome: AttemptOutcome, at: Date): Promise<void>;
  readNotify(): Promise<NotifyRecords>;
  /** `fn` in one transaction (a check's reads and the messages it writes agree). */
  freshness<T>(fn: (tx: FreshnessTx) => Promise<T>): Promise<T>;
}

/** A DuckDB connection (or its held lock), a store of either backend, or an `OutboxStore` already. */
export type OutboxSource = Connection | AnyStore | OutboxStore;

function isOutboxStore(on: OutboxSource): on is OutboxStore {
  return typeof (on as OutboxStore).outbox === "string";
}

/** The `OutboxStore` of `on`. */
export function outboxStoreOf(on: OutboxSource): OutboxStore {
  if (isOutboxStore(on)) return on;
  if ("backend" in on && isPgStore(on)) return pgOutboxStore(on.pool);
  if ("db" in on && "path" in on) return duckOutboxStore(on.db);
  return duckOutboxStore(on as Connection);
}

/** DuckDB's: statements on `on` under its connection lock. */
export function duckOutboxStore(on: Connection): OutboxStore {
  return {
    outbox: "duckdb",
    due: (now, limit) =>
      withConnectionLock(on, async ({ db }) => {
        const due = await dueMessages(db, now, limit);
        const channels = due.length > 0 ? (await readNotify(db)).channels : [];
        return { due, channels };
      }),
    record: (key, outcome, at) => withConnectionLock(on, ({ db }) => recordAttempt(db, key, outcome, at)),
    readNotify: () => withTransaction(on, ({ db }) => readNotify(db)),
    freshness: (fn) =>
      withTransaction(on, ({ db }) =>
        fn({
          hasBars: (source, session) => hasBars(db, source, session),
          staleSessions: (source, channel) => staleSessions(db, source, channel),
          enqueue: (messages, at) => enqueueMessages(db, messages, at),
        }),
      ),
  };
}

/** PostgreSQL's, on the pool (or a caller's transaction). */
export function pgOutboxStore(db: PgDb): OutboxStore {
  return {
    outbox: "postgresql",
    due: async (now, limit, holdMs) => {
      const due = await claimDueMessagesPg(db, now, limit, holdMs);
      const channels = due.length > 0 ? (await readNotifyPg(db)).channels : [];
      return { due, channels };
    },
    record: (key, outcome, at) => recordAttemptPg(db, key, outcome, at),
    readNotify: () => readNotifyPg(db),
    freshness: (fn) =>
      withPgTransaction(db, (tx) =>
        fn({
          hasBars: (source, session) => hasSessionBarsPg(tx, source, session),
          staleSessions: (source, channel) => staleSessionsPg(tx, source, channel),
          enqueue: (messages, at) => enqueueMessagesPg(tx, messages, at),
        }),
      ),
  };
}

async function hasBars(db: DuckDBConnection, source: string, session: string): Promise<boolean> {
  const reader = await db.runAndReadAll(
    "SELECT 1 FROM bars_daily WHERE source = $source AND date = $session::DATE LIMIT 1",
    { source, session },
  );
  return reader.currentRowCount > 0;
}

/** Sessions of `source` announced Stale to `channel` and not Recovered yet. */
async function staleSessions(db: DuckDBConnection, source: string, channel: string): Promise<string[]> {
  const prefix = `freshness:${source}:`;
  const reader = await db.runAndReadAll(
    `SELECT facts->>'session' AS session FROM notify_outbox s
     WHERE s.event = 'Stale' AND s.channel = $channel AND starts_with(s.key, $prefix)
       AND NOT EXISTS (SELECT 1 FROM notify_outbox r WHERE r.key = $prefix || (s.facts->>'session') || ':Recovered:' || $channel)`,
    { channel, prefix },
  );
  return reader.getRowObjectsJS().map((r) => String(r.session));
}
