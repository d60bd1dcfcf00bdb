/**
 * The outbox end to end against real receivers on 127.0.0.1: a run's state change writes its
 * messages in the same transaction (transitionRuns / createRuns), the sender delivers them to a
 * webhook (node:http) and an SMTP sink (smtp-server), retries, gives up on a 4xx, never repeats.
 * The same assertions on DuckDB and on PostgreSQL (a throwaway server), where two senders at once
 * also deliver each message once.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pgDescribe } from "../../tests/helpers/postgres.js";
import { type DeploymentRecord, registerDeployments } from "../daemon/deploy.js";
import { schedulePass } from "../daemon/scheduler.js";
import { scheduleId } from "../schedule/run-key.js";
import {
  crashRuns,
  createRuns,
  type NewRun,
  type NotifyRecords,
  outboxRows,
  type RunSelector,
  type RunTransition,
  registerNotify,
  type Store,
  transitionRuns,
} from "../store/index.js";
import {
  claimDueMessagesPg,
  crashRunsPg,
  createRunsPg,
  migratePg,
  openPgPool,
  outboxRowsPg,
  type PgStore,
  registerNotifyPg,
  runNotificationsPg,
  transitionRunsPg,
} from "../store/pg/index.js";
import { tempStore } from "../store/testing.js";
import { notifyRecordsOf } from "./config.js";
import type { OutboxSource } from "./outbox-store.js";
import { NotifySender } from "./sender.js";
import { type SmtpSink, startSmtpSink, startWebhookReceiver, type WebhookReceiver } from "./testing.js";

/** The store operations these tests use, on one backend. */
interface NotifyBackend {
  source: OutboxSource;
  registerNotify(records: NotifyRecords): Promise<boolean>;
  createRuns(runs: readonly NewRun[], at: Date, message: string): Promise<string[]>;
  transitionRuns(select: RunSelector, t: RunTransition): Promise<string[]>;
  crashRuns(ids: readonly string[], at: Date, message: string): Promise<string[]>;
  outboxRows(): Promise<Record<string, unknown>[]>;
  /** A statement with `$1`-style parameters. */
  exec(sql: string, values: unknown[]): Promise<void>;
}

function duckBackend(store: Store): NotifyBackend {
  const db = store.db;
  return {
    source: db,
    registerNotify: (records) => registerNotify(db, records),
    createRuns: (runs, at, message) => createRuns(db, runs, at, message),
    transitionRuns: (select, t) => transitionRuns(db, select, t),
    crashRuns: (ids, at, message) => crashRuns(db, ids, at, message),
    outboxRows: () => outboxRows(db),
    exec: async (sql, values) => {
      await db.run(sql, values as string[]);
    },
  };
}

function pgBackend(store: PgStore): NotifyBackend {
  const db = store.pool;
  return {
    source: store,
    registerNotify: (records) => registerNotifyPg(db, records),
    createRuns: (runs, at, message) => createRunsPg(db, runs, at, message),
    transitionRuns: (select, t) => transitionRunsPg(db, select, t),
    crashRuns: (ids, at, message) => crashRunsPg(db, ids, at, message),
    outboxRows: () => outboxRowsPg(db),
    exec: async (sql, values) => {
      await db.query(sql, values);
    },
  };
}

let store: Store;
let cleanup: () => Promise<void>;
let backend: NotifyBackend;
let slack: WebhookReceiver;
let hook: WebhookReceiver;
let smtp: SmtpSink;
let env: Record<string, string>;
let clock = new Date("2025-07-07T22:00:00Z");
const logs: string[] = [];

const SLACK_SECRET_PATH = "/services/T000/B000/slack-secret-xyz";

beforeAll(async () => {
  slack = await startWebhookReceiver();
  hook = await startWebhookReceiver();
  smtp = await startSmtpSink();
  env = {
    SLACK_WEBHOOK_URL: `${slack.url}${SLACK_SECRET_PATH}`,
    OPS_WEBHOOK_URL: hook.url,
    OPS_TOKEN: "hook-token-abcdef",
    SMTP_USER: "mailer-user",
    SMTP_PASSWORD: "mail-password-123",
    TICKFLOW_PUBLIC_URL: "https://console.example.com/",
  };
});
afterAll(async () => {
  await slack.close();
  await hook.close();
  await smtp.close();
});

/** Empty receivers, and the channels and rules registered in the (empty) store. */
async function freshStart(): Promise<void> {
  slack.requests.length = 0;
  hook.requests.length = 0;
  smtp.mails.length = 0;
  logs.length = 0;
  await backend.registerNotify(
    notifyRecordsOf({
      channels: {
        "ops-slack": { type: "slack", url: "${{ env.SLACK_WEBHOOK_URL }}" },
        "ops-hook": {
          type: "webhook",
          url: "${{ env.OPS_WEBHOOK_URL }}",
          headers: { "X-Team": "data", Authorization: "Bearer ${{ env.OPS_TOKEN }}" },
        },
        "ops-mail": {
          type: "email",
          to: ["ops@example.com"],
          from: "tickflow@example.com",
          smtp: {
            host: "127.0.0.1",
            port: smtp.port,
            tls: "none",
            user: "${{ env.SMTP_USER }}",
            password: "${{ env.SMTP_PASSWORD }}",
          },
        },
      },
      notifications: [
        {
          on: ["Failed", "Crashed", "Late", "Recovered"],
          deployments: ["daily"],
          to: ["ops-slack", "ops-mail"],
        },
        { on_quality: "error", to: ["ops-hook"] },
      ],
    }),
  );
}

describe("on DuckDB", () => {
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
    backend = duckBackend(store);
    await freshStart();
  });
  afterEach(async () => {
    await cleanup();
  });
  notifyTests();

  describe("through the scheduler", () => {
    it("a scheduled run not started in time: one Late message, delivered once", async () => {
      await lateThroughTheScheduler();
    });
  });
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
      `TRUNCATE runs, task_runs, state_transitions, quality_results, notify_outbox, notify_channels,
         notify_rules, notify_freshness`,
    );
    backend = pgBackend(pg);
    await freshStart();
  });
  notifyTests();

  it("two senders at once (two daemons): each message delivered once", async () => {
    const ids = [await runOf(), await runOf(), await runOf()];
    for (const id of ids) await end(id, "Failed", "boom");
    const other = await openPgPool(server.url(), { env: {} });
    try {
      const results = await Promise.all([
        sender().pass(),
        new NotifySender(other, { env, now: () => clock, timeoutMs: 5000 }).pass(),
      ]);
      expect(results.reduce((n, r) => n + r.delivered, 0)).toBe(6);
    } finally {
      await other.close();
    }
    expect(slack.requests).toHaveLength(3);
    expect(smtp.mails).toHaveLength(3);
    expect(new Set(slack.requests.map((r) => r.headers["idempotency-key"])).size).toBe(3);
    const told = await runNotificationsPg(pg.pool, ids[0]!);
    expect(told.map((n) => [n.event, n.channel, n.attempts, n.delivered_at !== null])).toEqual([
      ["Failed", "ops-mail", 1, true],
      ["Failed", "ops-slack", 1, true],
    ]);
  });

  it("a sender that died holding messages: another sends them once the hold ran out", async () => {
    await end(await runOf(), "Failed", "boom");
    expect(await claimDueMessagesPg(pg.pool, clock, 50, 60_000)).toHaveLength(2); // then "dies"
    expect(await sender().pass()).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    clock = new Date(clock.getTime() + 60_000);
    expect(await sender().pass()).toEqual({ delivered: 2, retrying: 0, failed: 0 });
  });
});

function sender(retry = { baseMs: 1000, maxMs: 60_000, maxAttempts: 5 }) {
  return new NotifySender(backend.source, {
    env,
    now: () => clock,
    retry,
    timeoutMs: 5000,
    log: (level, message) => logs.push(`${level} ${message}`),
  });
}

let seq = 0;
async function runOf(deployment: string | null = "daily"): Promise<string> {
  const id = `run-${++seq}`;
  await backend.createRuns(
    [
      {
        id,
        pipeline: "p",
        deployment,
        state: "Running",
        parameters: {},
        logical_date: "2025-07-07",
        pipeline_file: null,
        started_at: clock,
      },
    ],
    clock,
    "test",
  );
  return id;
}

async function end(id: string, state: "Completed" | "Failed", error?: string) {
  if (error)
    await backend.exec(
      `INSERT INTO task_runs (run_id, task_id, step, state, attempts, ended_at, error)
       VALUES ($1, 'fetch[AAPL]', 'polygon.daily_bars', 'Failed', 3, now(), $2)`,
      [id, error],
    );
  clock = new Date(clock.getTime() + 60_000);
  return backend.transitionRuns(
    { ids: [id] },
    { to: state, at: clock, set: { ended_at: clock, error: error ?? null } },
  );
}

/** The assertions both backends meet (on `backend`, set by the caller's beforeEach). */
function notifyTests(): void {
  describe("run state notifications", () => {
    it("a failed run: one Slack-shaped POST and one email with the task's error and the run link", async () => {
      const id = await runOf();
      await end(id, "Failed", "HTTP 500 from api.polygon.io for AAPL");
      expect((await backend.outboxRows()).map((r) => r.key)).toEqual([
        `${id}:Failed:ops-mail`,
        `${id}:Failed:ops-slack`,
      ]);
      expect(await sender().pass()).toEqual({ delivered: 2, retrying: 0, failed: 0 });
      expect(await sender().pass()).toEqual({ delivered: 0, retrying: 0, failed: 0 });

      expect(slack.requests).toHaveLength(1);
      const post = slack.requests[0]!;
      expect(post.path).toBe(`/hook${SLACK_SECRET_PATH}`);
      expect(post.headers["idempotency-key"]).toBe(`${id}:Failed:ops-slack`);
      const body = post.body as { text: string; blocks: { type: string; text: { text: string } }[] };
      expect(body.text).toContain("daily Failed (2025-07-07)");
      expect(body.text).toContain(`https://console.example.com/runs/${id}`);
      const blocks = JSON.stringify(body.blocks);
      expect(blocks).toContain("Task: fetch[AAPL]");
      expect(blocks).toContain("Error: HTTP 500 from api.polygon.io for AAPL");

      expect(smtp.mails).toHaveLength(1);
      const mail = smtp.mails[0]!;
      expect(mail.to).toEqual(["ops@example.com"]);
      expect(mail.user).toBe("mailer-user");
      expect(mail.data).toMatch(/Subject: \[tickflow\] daily Failed \(2025-07-07\)/);
      expect(mail.data).toContain("Error: HTTP 500 from api.polygon.io for AAPL");
      expect(mail.data).toContain(`https://console.example.com/runs/${id}`);

      // The outbox keeps names and facts, never a resolved secret.
      const stored = JSON.stringify(await backend.outboxRows());
      for (const secret of Object.values(env).slice(0, 5)) expect(stored).not.toContain(secret);
      expect(stored).not.toContain("slack-secret-xyz");
      expect(logs.join("\n")).not.toContain("slack-secret-xyz");
    });

    it("a later success is Recovered once; runs without a deployment announce nothing", async () => {
      await end(await runOf(), "Failed", "boom");
      await end(await runOf(), "Completed");
      await end(await runOf(), "Completed");
      await end(await runOf(null), "Failed", "boom");
      const events = (await backend.outboxRows()).map((r) => `${r.event}:${r.channel}`);
      expect(events).toEqual([
        "Failed:ops-mail",
        "Failed:ops-slack",
        "Recovered:ops-mail",
        "Recovered:ops-slack",
      ]);
      await sender().pass();
      expect(slack.requests.map((r) => (r.body as { text: string }).text.split(":")[0])).toEqual([
        "daily Failed (2025-07-07)",
        "Recovered",
      ]);
    });

    it("a run made Late, or turning Late, sends Late", async () => {
      await backend.createRuns(
        [
          {
            id: "late-1",
            pipeline: "p",
            deployment: "daily",
            state: "Late",
            parameters: {},
            logical_date: "2025-07-07",
            pipeline_file: null,
          },
          {
            id: "sched-1",
            pipeline: "p",
            deployment: "daily",
            state: "Scheduled",
            parameters: {},
            logical_date: "2025-07-07",
            pipeline_file: null,
          },
        ],
        clock,
        "scheduler",
      );
      await backend.transitionRuns({ ids: ["sched-1"] }, { to: "Late", at: clock });
      expect((await backend.outboxRows()).map((r) => r.key).sort()).toEqual([
        "late-1:Late:ops-mail",
        "late-1:Late:ops-slack",
        "sched-1:Late:ops-mail",
        "sched-1:Late:ops-slack",
      ]);
    });

    it("a crashed run (crashRuns) sends Crashed with the crash's message; Cancelled only where a rule says so", async () => {
      const id = await runOf();
      expect(await backend.crashRuns([id], clock, "crashed: its process ended")).toEqual([id]);
      const cancelled = await runOf();
      await backend.transitionRuns({ ids: [cancelled] }, { to: "Cancelled", at: clock });
      expect((await backend.outboxRows()).map((r) => r.key)).toEqual([
        `${id}:Crashed:ops-mail`,
        `${id}:Crashed:ops-slack`,
      ]);
      await sender().pass();
      expect(JSON.stringify(slack.requests[0]!.body)).toContain("Error: crashed: its process ended");
    });

    it("quality errors: counts by check to the webhook, with its headers", async () => {
      const id = await runOf("validation");
      await backend.exec(
        `INSERT INTO quality_results (run_id, source, symbol, date, check_name, severity, message)
       SELECT CAST($1 AS VARCHAR), 'polygon', 'AAPL', DATE '2025-07-07', c, s, 'x'
       FROM (VALUES ('ohlc_consistency', 'error'), ('ohlc_consistency', 'error'), ('price_jump', 'error'), ('nulls', 'warn')) t(c, s)`,
        [id],
      );
      await end(id, "Completed");
      await sender().pass();
      expect(hook.requests).toHaveLength(1);
      expect(hook.requests[0]!.headers["x-team"]).toBe("data");
      expect(hook.requests[0]!.headers.authorization).toBe("Bearer hook-token-abcdef");
      expect(hook.requests[0]!.body).toEqual({
        event: "Quality",
        deployment: "validation",
        run_id: id,
        state: "Completed",
        logical_date: "2025-07-07",
        task: null,
        error: null,
        url: `https://console.example.com/runs/${id}`,
        quality: { ohlc_consistency: 2, price_jump: 1 },
      });
    });
  });

  describe("delivery", () => {
    it("500 three times, then 200: delivered once, after backoff", async () => {
      slack.script.push(500, 500, 500);
      const id = await runOf();
      await end(id, "Failed", "boom");
      const s = sender();
      const passes: string[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await s.pass();
        passes.push(`${r.delivered}/${r.retrying}/${r.failed}`);
        clock = new Date(clock.getTime() + 30_000);
      }
      expect(slack.requests.map((r) => r.status)).toEqual([500, 500, 500, 200]);
      expect(new Set(slack.requests.map((r) => r.headers["idempotency-key"])).size).toBe(1);
      const row = (await backend.outboxRows()).find((r) => r.key === `${id}:Failed:ops-slack`)!;
      expect(row.attempts).toBe(4);
      expect(row.delivered_at).not.toBeNull();
      expect(row.last_error).toMatch(/^HTTP 500/);
      expect(logs.join("\n")).not.toContain("slack-secret-xyz");
    });

    it("backs off: no retry before the delay", async () => {
      slack.script.push(503);
      await end(await runOf(), "Failed", "boom");
      const s = sender();
      await s.pass();
      await s.pass(); // at once: not due yet
      expect(slack.requests).toHaveLength(1);
      clock = new Date(clock.getTime() + 1000);
      await s.pass();
      expect(slack.requests).toHaveLength(2);
    });

    it("a 4xx other than 429 fails at once, recorded; a 429 is retried", async () => {
      slack.script.push(404);
      smtp.mails.length = 0;
      const id = await runOf();
      await end(id, "Failed", "boom");
      expect(await sender().pass()).toEqual({ delivered: 1, retrying: 0, failed: 1 });
      const row = (await backend.outboxRows()).find((r) => r.key === `${id}:Failed:ops-slack`)!;
      expect(row.attempts).toBe(1);
      expect(row.failed_at).not.toBeNull();
      expect(row.last_error).toMatch(/^HTTP 404/);
      clock = new Date(clock.getTime() + 3_600_000);
      await sender().pass();
      expect(slack.requests).toHaveLength(1);

      slack.script.push(429);
      const again = await runOf();
      await end(again, "Failed", "boom");
      expect((await sender().pass()).retrying).toBe(1);
    });
  });
}

/** A Late run made by the scheduler (DuckDB's: not ported to PostgreSQL yet). */
async function lateThroughTheScheduler(): Promise<void> {
  {
    const schedule = { interval: "1h", timezone: "UTC" };
    const record: DeploymentRecord = {
      name: "daily",
      pipeline: "p",
      pipelineFile: "/nonexistent/p.yaml",
      parameters: {},
      workPool: null,
      workQueue: null,
      concurrencyLimit: null,
      collisionStrategy: "enqueue",
      missedRuns: "all",
      tags: [],
      paused: false,
      schedules: [{ id: scheduleId(schedule), position: 0, definition: schedule, active: true }],
    };
    await registerDeployments(store.db, [record], [], clock);
    const t0 = new Date("2025-07-08T10:30:00Z");
    await schedulePass(store.db, t0, { horizonMs: 3_600_000 });
    expect(await backend.outboxRows()).toEqual([]);
    // 11:00 is due; at 11:02 nobody took it: Late.
    const pass = await schedulePass(store.db, new Date("2025-07-08T11:02:00Z"), { horizonMs: 60_000 });
    expect(pass.late).toBe(1);
    clock = new Date("2025-07-08T11:02:00Z");
    await sender().pass();
    await sender().pass();
    expect(slack.requests).toHaveLength(1);
    expect((slack.requests[0]!.body as { text: string }).text).toMatch(/^daily Late \(2025-07-08\)/);
    expect(smtp.mails).toHaveLength(1);
  }
}
