/**
 * Freshness on a controllable clock (the engine's ManualClock): no alert before the deadline, one
 * after, none on a holiday (2025-07-04), a Recovered when the bars land; the gauge's value; the
 * messages delivered to a real webhook receiver. The checks run on DuckDB and on PostgreSQL.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pgDescribe } from "../../tests/helpers/postgres.js";
import { ManualClock } from "../engine/manual-clock.js";
import { type NotifyRecords, outboxRows, registerNotify, type Store } from "../store/index.js";
import { migratePg, openPgPool, outboxRowsPg, type PgStore, registerNotifyPg } from "../store/pg/index.js";
import { tempStore } from "../store/testing.js";
import type { FreshnessRule } from "./channels-file.js";
import { notifyRecordsOf } from "./config.js";
import { checkFreshness, freshnessRules, sessionDue } from "./freshness.js";
import type { OutboxSource } from "./outbox-store.js";
import { NotifySender } from "./sender.js";
import { startWebhookReceiver, type WebhookReceiver } from "./testing.js";

const RULE: FreshnessRule = {
  source: "polygon",
  by: "18:30",
  timezone: "America/New_York",
  calendar: "XNYS",
  to: ["ops"],
};

/** The store of the test running: where the checks look, and how a test writes and reads. */
let source: OutboxSource;
let exec: (sql: string) => Promise<unknown>;
let outbox: () => Promise<Record<string, unknown>[]>;
let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver.close();
});
const RECORDS: NotifyRecords = notifyRecordsOf({
  channels: { ops: { type: "webhook", url: "${{ env.OPS_URL }}" } },
  freshness: [RULE],
});

const bars = (date: string) =>
  exec(`INSERT INTO bars_daily (source, symbol, date, close) VALUES ('polygon', 'AAPL', '${date}', 1)`);
const events = async () => (await outbox()).map((r) => String(r.key));

describe("on DuckDB", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
    receiver.requests.length = 0;
    source = store.db;
    exec = (sql) => store.db.run(sql);
    outbox = () => outboxRows(store.db);
    await registerNotify(store.db, RECORDS);
  });
  afterEach(async () => {
    await cleanup();
  });
  freshnessTests();
});

pgDescribe("on PostgreSQL", (server) => {
  let pg: PgStore;
  beforeAll(async () => {
    pg = await openPgPool(server.url(), { env: {} });
    await migratePg(pg.pool);
  });
  afterAll(() => pg?.close());
  beforeEach(async () => {
    await pg.pool.query(
      "TRUNCATE bars_daily, notify_outbox, notify_channels, notify_rules, notify_freshness",
    );
    receiver.requests.length = 0;
    source = pg;
    exec = (sql) => pg.pool.query(sql);
    outbox = () => outboxRowsPg(pg.pool);
    expect(await registerNotifyPg(pg.pool, RECORDS)).toBe(true);
    expect(await registerNotifyPg(pg.pool, RECORDS)).toBe(false); // unchanged, whatever jsonb's key order
  });
  freshnessTests();
});

describe("sessionDue", () => {
  it("is the latest session whose deadline passed: holidays and weekends are never due", () => {
    expect(sessionDue(RULE, new Date("2025-07-02T22:29:00Z"))).toEqual({
      session: "2025-07-01",
      deadline: new Date("2025-07-01T22:30:00Z"),
    });
    expect(sessionDue(RULE, new Date("2025-07-02T22:30:00Z")).session).toBe("2025-07-02");
    expect(sessionDue(RULE, new Date("2025-07-04T23:00:00Z")).session).toBe("2025-07-03");
    expect(sessionDue(RULE, new Date("2025-07-06T15:00:00Z")).session).toBe("2025-07-03");
    // Winter: 18:30 New York is 23:30 UTC.
    expect(sessionDue(RULE, new Date("2025-01-06T23:31:00Z")).deadline).toEqual(
      new Date("2025-01-06T23:30:00Z"),
    );
  });
});

/** The assertions both backends meet. */
function freshnessTests(): void {
  describe("checkFreshness", () => {
    it("no alert before the deadline, one after, a Recovered when the bars land", async () => {
      const clock = new ManualClock("2025-07-02T22:00:00Z"); // 18:00 in New York
      await bars("2025-07-01");
      const rules = await freshnessRules(source);
      expect(rules).toEqual([RULE]);

      let r = await checkFreshness(source, rules, clock.now());
      expect(r.enqueued).toEqual([]);
      expect(r.seconds.get("polygon")).toBe(0);

      await clock.advance(31 * 60_000); // 18:31: 2025-07-02's bars are due and missing
      r = await checkFreshness(source, rules, clock.now());
      expect(r.enqueued).toEqual(["freshness:polygon:2025-07-02:Stale:ops"]);
      expect(r.seconds.get("polygon")).toBe(60);
      await clock.advance(10 * 60_000);
      r = await checkFreshness(source, rules, clock.now());
      expect(r.enqueued).toEqual([]); // once
      expect(r.seconds.get("polygon")).toBe(660);

      await bars("2025-07-02");
      await clock.advance(60_000);
      r = await checkFreshness(source, rules, clock.now());
      expect(r.enqueued).toEqual(["freshness:polygon:2025-07-02:Recovered:ops"]);
      expect(r.seconds.get("polygon")).toBe(0);
      r = await checkFreshness(source, rules, clock.now());
      expect(r.enqueued).toEqual([]);

      const sender = new NotifySender(source, {
        env: { OPS_URL: receiver.url },
        now: () => clock.now(),
      });
      expect((await sender.pass()).delivered).toBe(2);
      expect(receiver.requests.map((q) => q.body)).toEqual([
        expect.objectContaining({
          event: "Stale",
          source: "polygon",
          session: "2025-07-02",
          deadline: "2025-07-02 18:30 EDT",
          url: "http://127.0.0.1:4200/runs",
        }),
        expect.objectContaining({ event: "Recovered", source: "polygon", session: "2025-07-02" }),
      ]);
      expect(receiver.requests[0]!.headers["idempotency-key"]).toBe("freshness:polygon:2025-07-02:Stale:ops");
    });

    it("no alert on 2025-07-04 (Independence Day)", async () => {
      await bars("2025-07-03");
      const clock = new ManualClock("2025-07-04T23:00:00Z"); // 19:00 in New York, a holiday
      const r = await checkFreshness(source, [RULE], clock.now());
      expect(r.enqueued).toEqual([]);
      expect(r.seconds.get("polygon")).toBe(0);
      expect(await events()).toEqual([]);
    });
  });
}
