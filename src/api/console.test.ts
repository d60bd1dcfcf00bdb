/**
 * The console's JSON routes in process (`app.request()`) over a real database with real rows, the
 * same assertions on both backends (a DuckDB file; a PostgreSQL database of a throwaway server):
 * runs paged by keyset, a run's graph, a deployment's page, a pool's queue, the overview, symbol
 * search, bars with an indicator, a symbol's events, and the coverage grid. One database per
 * backend (the routes only read), on a fixed clock.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgDescribe } from "../../tests/helpers/postgres.js";
import { sessionsBetween } from "../calendar/index.js";
import { type BackendFixture, duckFixture, pgFixture, quote } from "../control/testing.js";
import { notifyRecordsOf } from "../notify/config.js";
import { scheduleId } from "../schedule/run-key.js";
import { type NewRun, newRunId } from "../store/index.js";
import { createApi } from "./app.js";
import type {
  BarsJson,
  CoverageJson,
  DeploymentDetailJson,
  OverviewJson,
  RunGraphJson,
  RunJson,
  RunNotificationJson,
  RunsPageJson,
  SymbolEventsJson,
  SymbolJson,
  WorkPoolJson,
} from "./console-contract.js";

const NOW = new Date("2025-07-08T22:00:00.000Z"); // 18:00 in New York, a Tuesday, after the close
const XSS = "<img src=x onerror=alert(1)>";
const HOUR = 3_600_000;

describe("DuckDB", () => consoleRoutes(duckFixture));
pgDescribe("PostgreSQL", (server) => consoleRoutes(() => pgFixture(server.url())));

/** Every test of the file, over the database `open` gives. */
function consoleRoutes(open: () => Promise<BackendFixture>): void {
  let fx: BackendFixture;
  let dir: string;
  let app: Hono;
  let errors: string[];
  /** Runs of the "ran" list (started or due by NOW), and the upcoming ones. */
  let ranCount = 0;

  async function get<T>(path: string): Promise<{ status: number; json: T; text: string }> {
    const response = await app.request(path);
    const text = await response.text();
    return { status: response.status, json: JSON.parse(text) as T, text };
  }

  const run = (over: Partial<NewRun> & { at: Date }): NewRun => ({
    id: newRunId(over.at.getTime()),
    pipeline: "counted",
    deployment: "daily",
    state: "Scheduled",
    parameters: {},
    logical_date: "2025-07-01",
    pipeline_file: join(dir, "counted.yaml"),
    scheduled_at: over.at,
    work_pool: "default",
    work_queue: "low",
    ...over,
  });

  beforeAll(async () => {
    fx = await open();
    dir = fx.dir;
    errors = [];
    writeFileSync(
      join(dir, "counted.yaml"),
      `kind: pipeline
name: counted
parameters:
  n: {type: integer, default: 1, minimum: 1, description: "how many"}
  day: {type: date}
tasks:
  fetch: {uses: log, for_each: [a, b], with: {message: "\${{ item }}"}}
  say: {uses: log, needs: fetch, with: {message: "n=\${{ params.n }}"}}
`,
    );
    const control = fx.control({ now: () => NOW });
    const schedule = { cron: "30 17 * * 1-5", timezone: "America/New_York", calendar: "XNYS" as const };
    await fx.deploy(
      [
        {
          name: "daily",
          pipeline: "counted",
          pipelineFile: join(dir, "counted.yaml"),
          parameters: {},
          workPool: "default",
          workQueue: "low",
          concurrencyLimit: null,
          collisionStrategy: "enqueue",
          missedRuns: "latest",
          tags: [],
          paused: false,
          schedules: [{ id: scheduleId(schedule), position: 0, definition: schedule, active: true }],
        },
      ],
      [
        {
          name: "default",
          concurrencyLimit: 2,
          paused: false,
          jobDefaults: {},
          queues: [
            { name: "high", priority: 1, concurrencyLimit: null },
            { name: "low", priority: 10, concurrencyLimit: null },
          ],
        },
      ],
    );

    // 40 runs that ran, by twos at the same instant (the id breaks the tie), the newest Failed with
    // markup in its error; 3 due and waiting; 2 upcoming.
    const runs: NewRun[] = [];
    for (let i = 0; i < 40; i++) {
      const at = new Date(NOW.getTime() - (Math.floor(i / 2) + 2) * HOUR);
      runs.push(run({ at, id: newRunId(at.getTime()), state: "Running", started_at: at }));
    }
    const queuedLow = run({ at: new Date(NOW.getTime() - 30 * 60_000), work_queue: "low" });
    const queuedHigh = run({ at: new Date(NOW.getTime() - 10 * 60_000), work_queue: "high" });
    const queuedLow2 = run({ at: new Date(NOW.getTime() - 20 * 60_000), work_queue: "low" });
    runs.push(queuedLow, queuedHigh, queuedLow2);
    runs.push(run({ at: new Date(NOW.getTime() + HOUR) }), run({ at: new Date(NOW.getTime() + 2 * HOUR) }));
    ranCount = 43;
    await fx.createRuns(runs, new Date(NOW.getTime() - 30 * HOUR), "test");
    await fx.exec(
      `UPDATE runs SET state = 'Failed', ended_at = started_at, error = ${quote(XSS)} WHERE id = ${quote(runs[0]!.id)}`,
    );
    // One run whose pipeline file is gone.
    await fx.createRuns(
      [
        run({
          at: new Date(NOW.getTime() - 40 * HOUR),
          state: "Running",
          started_at: new Date(NOW.getTime() - 40 * HOUR),
          pipeline_file: join(dir, "gone.yaml"),
        }),
      ],
      new Date(NOW.getTime() - 40 * HOUR),
      "test",
    );
    ranCount += 1;

    // Bars: demo AAA every session from June 2; AAB misses 2025-07-07; BBB starts 2025-07-02; the
    // markup symbol has two; source "late" stops at 2025-07-02.
    const sessions = sessionsBetween("2025-06-02", "2025-07-08");
    const bars: string[] = [];
    sessions.forEach((d, i) => {
      bars.push(`('demo', 'AAA', DATE '${d}', ${100 + i}, ${101 + i}, ${99 + i}, ${100.5 + i}, ${1000 + i})`);
      if (d !== "2025-07-07") bars.push(`('demo', 'AAB', DATE '${d}', 1, 2, 0.5, 1.5, 10)`);
      if (d >= "2025-07-02") bars.push(`('demo', 'BBB', DATE '${d}', 1, 2, 0.5, 1.5, 10)`);
      if (d <= "2025-07-02") bars.push(`('late', 'AAA', DATE '${d}', 1, 2, 0.5, 1.5, 10)`);
    });
    bars.push(`('demo', '${XSS}', DATE '2025-07-07', 1, 2, 0.5, 1.5, 10)`);
    bars.push(`('demo', '${XSS}', DATE '2025-07-08', 1, 2, 0.5, 1.5, 10)`);
    await fx.exec(
      `INSERT INTO bars_daily (source, symbol, date, open, high, low, close, volume) VALUES ${bars.join(", ")}`,
    );
    // The summary the bars writers keep (DuckDB would compute it from bars_daily if it disagreed).
    await fx.exec(
      `INSERT INTO bar_symbols (source, symbol, first_date, last_date, bars)
     SELECT source, symbol, min(date), max(date), count(*) FROM bars_daily GROUP BY source, symbol`,
    );
    await fx.exec(
      `INSERT INTO corporate_actions (source, symbol, date, kind, value) VALUES ('demo', 'AAA', DATE '2025-06-16', 'split', 4)`,
    );
    const older = newRunId(NOW.getTime() - 50 * HOUR);
    const newer = newRunId(NOW.getTime() - 3 * HOUR);
    await fx.exec(
      `INSERT INTO quality_results VALUES
      ('${older}', 'demo', 'AAA', DATE '2025-06-03', 'stale_price', 'warn', 'old finding', TIMESTAMPTZ '2025-07-06 20:00:00+00'),
      ('${newer}', 'demo', 'AAA', DATE '2025-07-02', 'ohlc_consistency', 'error', '${XSS}', TIMESTAMPTZ '2025-07-08 19:00:00+00'),
      ('${newer}', 'demo', 'AAB', DATE '2025-07-03', 'price_jump', 'warn', 'jump', TIMESTAMPTZ '2025-07-08 19:00:00+00')`,
    );
    // An indicator for AAA: twice the close, with a 4-day warm-up.
    await fx.addIndicators(["sma_5", "rsi_14"], "demo", "AAA");
    await fx.exec(
      `INSERT INTO indicator_values (series, date, sma_5)
     SELECT s.id, b.date, CASE WHEN row_number() OVER (ORDER BY b.date) > 4 THEN b.close * 2 END
     FROM bars_daily b JOIN indicator_series s ON s.source = b.source AND s.symbol = b.symbol
     WHERE b.source = 'demo' AND b.symbol = 'AAA'`,
    );

    app = createApi({
      control,
      views: fx.views({ now: () => NOW }),
      writable: false,
      token: undefined,
      health: async () => ({ status: "ok" }),
      metrics: async () => "",
      onError: (m) => errors.push(m),
    });
  });
  afterAll(async () => {
    await fx?.close();
    expect(errors).toEqual([]);
  });

  describe("runs, keyset pages", () => {
    it("pages cover every run exactly once, in the order of /api/runs, without OFFSET", async () => {
      const all = await get<RunJson[]>("/api/runs?limit=1000");
      expect(all.json).toHaveLength(ranCount);
      const seen: string[] = [];
      let before: string | null = null;
      let pages = 0;
      do {
        const query: string = `/api/runs/page?limit=7${before ? `&before=${encodeURIComponent(before)}` : ""}`;
        const page = await get<RunsPageJson>(query);
        expect(page.status).toBe(200);
        expect(page.json.runs.length).toBeLessThanOrEqual(7);
        seen.push(...page.json.runs.map((r) => r.id));
        before = page.json.next;
        pages++;
      } while (before !== null && pages < 50);
      expect(pages).toBe(Math.ceil(ranCount / 7));
      expect(seen).toEqual(all.json.map((r) => r.id));
      expect(new Set(seen).size).toBe(ranCount);
    });

    it("filters, the upcoming list, and its own cursors", async () => {
      const failed = await get<RunsPageJson>("/api/runs/page?state=Failed");
      expect(failed.json.runs.map((r) => r.error)).toEqual([XSS]);
      expect(failed.text).toContain(XSS);
      expect(failed.json.next).toBeNull();
      const up = await get<RunsPageJson>("/api/runs/page?upcoming=true&limit=1");
      expect(up.json.runs[0]!.scheduled_at).toBe(new Date(NOW.getTime() + HOUR).toISOString());
      const second = await get<RunsPageJson>(`/api/runs/page?upcoming=true&limit=1&before=${up.json.next}`);
      expect(second.json.runs[0]!.scheduled_at).toBe(new Date(NOW.getTime() + 2 * HOUR).toISOString());
      expect(second.json.next).toBeNull();
      const mixed = await get<{ error: string }>(`/api/runs/page?before=${up.json.next}`);
      expect(mixed.status).toBe(400);
      expect(mixed.json.error).toMatch(/before/);
    });

    it("400 naming the field for bad input", async () => {
      for (const [q, field] of [
        ["limit=0", "limit"],
        ["limit=1001", "limit"],
        ["before=not-a-cursor!", "before"],
        [`before=${Buffer.from("r:1:x y").toString("base64url")}`, "before"],
        ["state=Nope", "state"],
        ["bogus=1", "bogus"],
      ] as const) {
        const answer = await get<{ error: string }>(`/api/runs/page?${q}`);
        expect({ q, status: answer.status }).toEqual({ q, status: 400 });
        expect(answer.json.error).toContain(field);
      }
    });
  });

  describe("a run's graph", () => {
    it("the tasks and their needs from the pipeline file; unavailable when it is gone", async () => {
      const runs = (await get<RunJson[]>("/api/runs?limit=1000")).json;
      const ok = runs.find((r) => r.pipeline_file?.endsWith("counted.yaml"))!;
      const graph = await get<RunGraphJson>(`/api/runs/${ok.id}/graph`);
      expect(graph.json).toEqual({
        available: true,
        reason: null,
        nodes: [
          { id: "fetch", step: "log", needs: [], for_each: true },
          { id: "say", step: "log", needs: ["fetch"], for_each: false },
        ],
      });
      const gone = runs.find((r) => r.pipeline_file?.endsWith("gone.yaml"))!;
      const missing = await get<RunGraphJson>(`/api/runs/${gone.id}/graph`);
      expect(missing.json.available).toBe(false);
      expect(missing.json.reason).toMatch(/gone\.yaml/);
      expect((await get("/api/runs/0000000000/graph")).status).toBe(404);
    });
  });

  describe("a run's notifications", () => {
    it("each message about the run with how its delivery went; none for another run", async () => {
      const runs = (await get<RunJson[]>("/api/runs?limit=1000")).json;
      const [first, other] = runs;
      const id = quote(first!.id);
      await fx.exec(
        `INSERT INTO notify_outbox (key, event, channel, run_id, facts, created_at, next_attempt_at, attempts,
         last_error, delivered_at, failed_at) VALUES
       (${id} || ':Failed:ops', 'Failed', 'ops', ${id}, '{}', TIMESTAMPTZ '2025-07-08 21:00:00Z',
         TIMESTAMPTZ '2025-07-08 21:00:10Z', 2, 'HTTP 500', TIMESTAMPTZ '2025-07-08 21:00:10Z', NULL),
       (${id} || ':Failed:mail', 'Failed', 'mail', ${id}, '{}', TIMESTAMPTZ '2025-07-08 21:00:00Z',
         TIMESTAMPTZ '2025-07-08 21:00:00Z', 1, 'HTTP 404', NULL, TIMESTAMPTZ '2025-07-08 21:00:01Z')`,
      );
      try {
        const sent = await get<RunNotificationJson[]>(`/api/runs/${first!.id.slice(0, 30)}/notifications`);
        expect(sent.status).toBe(200);
        expect(sent.json).toEqual([
          {
            event: "Failed",
            channel: "mail",
            attempts: 1,
            created_at: "2025-07-08T21:00:00.000Z",
            next_attempt_at: "2025-07-08T21:00:00.000Z",
            delivered_at: null,
            failed_at: "2025-07-08T21:00:01.000Z",
            last_error: "HTTP 404",
          },
          {
            event: "Failed",
            channel: "ops",
            attempts: 2,
            created_at: "2025-07-08T21:00:00.000Z",
            next_attempt_at: "2025-07-08T21:00:10.000Z",
            delivered_at: "2025-07-08T21:00:10.000Z",
            failed_at: null,
            last_error: "HTTP 500",
          },
        ]);
        expect((await get<RunNotificationJson[]>(`/api/runs/${other!.id}/notifications`)).json).toEqual([]);
        expect((await get("/api/runs/0000000000/notifications")).status).toBe(404);
      } finally {
        await fx.exec("DELETE FROM notify_outbox");
      }
    });
  });

  describe("deployments and pools", () => {
    it("a deployment: schedules in words with fires, parameter declarations, recent runs", async () => {
      const d = await get<DeploymentDetailJson>("/api/deployments/daily");
      expect(d.status).toBe(200);
      const [s] = d.json.schedules;
      expect(s).toMatchObject({
        index: 1,
        trigger: 'cron "30 17 * * 1-5"',
        description: "at 17:30 on Monday to Friday, America/New_York, XNYS sessions only",
        timezone: "America/New_York",
        calendar: "XNYS",
        active: true,
        paused: false,
      });
      expect(s!.fires.map((f) => f.at)).toEqual([
        "2025-07-09T21:30:00.000Z",
        "2025-07-10T21:30:00.000Z",
        "2025-07-11T21:30:00.000Z",
        "2025-07-14T21:30:00.000Z",
        "2025-07-15T21:30:00.000Z",
      ]);
      expect(d.json.parameter_declarations).toEqual({
        n: { type: "integer", default: 1, minimum: 1, description: "how many" },
        day: { type: "date" },
      });
      expect(d.json.pipeline_error).toBeNull();
      expect(d.json.recent_runs).toHaveLength(20);
      expect(d.json.recent_runs.every((r) => new Date(r.started_at ?? r.scheduled_at!) <= NOW)).toBe(true);
      expect((await get("/api/deployments/nope")).status).toBe(404);
    });

    it("a pool's due runs in claim order: queue priority, then when due", async () => {
      const pool = await get<WorkPoolJson>("/api/work-pools/default/queued");
      expect(pool.json.queued).toBe(3);
      const due = pool.json.queued_runs!.map((r) => r.scheduled_at);
      expect(due).toEqual([
        new Date(NOW.getTime() - 10 * 60_000).toISOString(),
        new Date(NOW.getTime() - 30 * 60_000).toISOString(),
        new Date(NOW.getTime() - 20 * 60_000).toISOString(),
      ]);
      expect((await get("/api/work-pools/nope/queued")).status).toBe(404);
    });
  });

  describe("overview", () => {
    it("runs by state, attention, next runs, freshness against the XNYS session due, quality, pools", async () => {
      const o = (await get<OverviewJson>("/api/overview")).json;
      expect(o.now).toBe(NOW.toISOString());
      expect(o.writable).toBe(false);
      expect(o.runs_24h).toEqual({ Failed: 1, Running: 39, Scheduled: 3 });
      expect(o.attention.map((r) => r.error)).toEqual([XSS]);
      expect(o.next_runs).toHaveLength(2);
      expect(o.freshness).toEqual([
        {
          source: "demo",
          latest_loaded: "2025-07-08",
          latest_due: "2025-07-08",
          sessions_behind: 0,
          symbols: 4,
          overdue_seconds: null,
        },
        // 2025-07-03, 07-07 and 07-08 (07-04 is a holiday).
        {
          source: "late",
          latest_loaded: "2025-07-02",
          latest_due: "2025-07-08",
          sessions_behind: 3,
          symbols: 1,
          overdue_seconds: null,
        },
      ]);
      expect(o.quality.findings).toEqual([
        { source: "demo", check_name: "ohlc_consistency", severity: "error", count: 1 },
        { source: "demo", check_name: "price_jump", severity: "warn", count: 1 },
      ]);
      expect(o.pools.map((p) => p.name)).toEqual(["default"]);
    });

    it("freshness rules: seconds past the deadline while the session's bars are missing, 0 once in", async () => {
      // 18:00 in New York on 2025-07-08: a 17:00 deadline has passed; "late" has no bars of that day.
      const rule = { by: "17:00", timezone: "America/New_York", calendar: "XNYS" as const, to: ["ops"] };
      await fx.setFreshness(
        notifyRecordsOf({
          channels: { ops: { type: "webhook", url: "${{ env.OPS_URL }}" } },
          freshness: [
            { ...rule, source: "demo" },
            { ...rule, source: "late" },
          ],
        }).freshness,
      );
      try {
        const o = (await get<OverviewJson>("/api/overview")).json;
        expect(o.freshness.map((f) => [f.source, f.overdue_seconds])).toEqual([
          ["demo", 0],
          ["late", 3600],
        ]);
      } finally {
        await fx.setFreshness([]);
      }
    });
  });

  describe("market data", () => {
    it("symbol search: prefix matches first, then contains; case-insensitive; text verbatim", async () => {
      const found = await get<SymbolJson[]>("/api/data/symbols?q=ab");
      expect(found.json.map((s) => s.symbol)).toEqual(["AAB"]);
      const a = await get<SymbolJson[]>("/api/data/symbols?q=a&source=demo");
      expect(a.json.map((s) => s.symbol)).toEqual(["AAA", "AAB", `${XSS}`]);
      const b = await get<SymbolJson[]>("/api/data/symbols?q=b");
      expect(b.json.map((s) => s.symbol)).toEqual(["BBB", "AAB"]);
      expect(b.json[0]).toEqual({
        source: "demo",
        symbol: "BBB",
        first_date: "2025-07-02",
        last_date: "2025-07-08",
        sessions: 4,
      });
      const xss = await get<SymbolJson[]>(`/api/data/symbols?q=${encodeURIComponent("<img")}`);
      expect(xss.json.map((s) => s.symbol)).toEqual([XSS]);
      expect((await get("/api/data/symbols?limit=201")).status).toBe(400);
      expect((await get<SymbolJson[]>("/api/data/symbols?limit=2")).json).toHaveLength(2);
    });

    it("bars as columns with an indicator aligned on the same dates", async () => {
      const bars = (await get<BarsJson>("/api/data/demo/AAA/bars?indicators=sma_5,rsi_14")).json;
      const n = sessionsBetween("2025-06-02", "2025-07-08").length;
      expect(bars.date).toHaveLength(n);
      for (const column of [bars.open, bars.high, bars.low, bars.close, bars.volume])
        expect(column).toHaveLength(n);
      expect(bars.date[0]).toBe("2025-06-02");
      expect(bars.close[0]).toBe(100.5);
      expect(bars.indicators.sma_5).toEqual(bars.close.map((c, i) => (i < 4 ? null : c! * 2)));
      expect(bars.indicators.rsi_14).toEqual(bars.close.map(() => null));
      expect(bars.available_indicators).toEqual(["sma_5"]);
      const range = (await get<BarsJson>("/api/data/demo/AAA/bars?from=2025-07-03&to=2025-07-07")).json;
      expect(range.date).toEqual(["2025-07-03", "2025-07-07"]);
      expect(range.indicators).toEqual({});
      const xss = (await get<BarsJson>(`/api/data/demo/${encodeURIComponent(XSS)}/bars`)).json;
      expect(xss.symbol).toBe(XSS);
      expect(xss.date).toEqual(["2025-07-07", "2025-07-08"]);
    });

    it("400 naming unknown indicators and bad dates; 404 for a symbol without bars", async () => {
      const unknown = await get<{ error: string }>("/api/data/demo/AAA/bars?indicators=sma_5,nope,also_not");
      expect(unknown.status).toBe(400);
      expect(unknown.json.error).toContain('"nope", "also_not"');
      const bad = await get<{ error: string }>("/api/data/demo/AAA/bars?from=2025-13-01");
      expect(bad.status).toBe(400);
      expect(bad.json.error).toContain("from");
      expect((await get("/api/data/demo/AAA/bars?from=2025-07-08&to=2025-07-01")).status).toBe(400);
      expect((await get("/api/data/demo/ZZZ/bars")).status).toBe(404);
      expect((await get("/api/data/demo/ZZZ/events")).status).toBe(404);
    });

    it("a symbol's events: corporate actions and quality findings, newest run's first, verbatim", async () => {
      const events = await get<SymbolEventsJson>("/api/data/demo/AAA/events");
      expect(events.json.corporate_actions).toEqual([{ date: "2025-06-16", kind: "split", value: 4 }]);
      expect(events.json.quality.map((q) => [q.date, q.check_name, q.message])).toEqual([
        ["2025-07-02", "ohlc_consistency", XSS],
        ["2025-06-03", "stale_price", "old finding"],
      ]);
    });
  });

  describe("coverage", () => {
    it("letters for loaded, a missing session, a quality error, a holiday, and before the first bar", async () => {
      const grid = await get<CoverageJson>("/api/coverage?source=demo&from=2025-06-30&to=2025-07-08");
      expect(grid.status).toBe(200);
      expect(grid.json.days).toEqual([
        { date: "2025-06-30", holiday: null },
        { date: "2025-07-01", holiday: null },
        { date: "2025-07-02", holiday: null },
        { date: "2025-07-03", holiday: null },
        { date: "2025-07-04", holiday: "Independence Day" },
        { date: "2025-07-07", holiday: null },
        { date: "2025-07-08", holiday: null },
      ]);
      expect(grid.json.symbols).toEqual([
        { symbol: XSS, cells: "----HLL" },
        { symbol: "AAA", cells: "LLQLHLL" },
        { symbol: "AAB", cells: "LLLLHML" },
        { symbol: "BBB", cells: "--LLHLL" },
      ]);
      expect(grid.json).toMatchObject({ source: "demo", total: 4, offset: 0, sources: ["demo", "late"] });
      const page = await get<CoverageJson>(
        "/api/coverage?source=demo&from=2025-06-30&to=2025-07-08&offset=1&limit=2",
      );
      expect(page.json.symbols.map((s) => s.symbol)).toEqual(["AAA", "AAB"]);
      expect(page.json.total).toBe(4);
    });

    it("defaults: the first source, the 252 weekdays up to today in New York (its latest bar)", async () => {
      const grid = (await get<CoverageJson>("/api/coverage")).json;
      expect(grid.source).toBe("demo");
      expect(grid.days).toHaveLength(252);
      expect(grid.to).toBe("2025-07-08");
      expect(grid.days.at(-1)!.date).toBe("2025-07-08");
    });

    it("defaults: a source whose bars stop in the past ends at its latest bar, not today", async () => {
      const grid = (await get<CoverageJson>("/api/coverage?source=late")).json;
      expect(grid.to).toBe("2025-07-02");
      expect(grid.days).toHaveLength(252);
      expect(grid.days.at(-1)!.date).toBe("2025-07-02");
    });

    it("400 for bad ranges, 404 for an unknown source", async () => {
      expect((await get("/api/coverage?from=2023-01-01&to=2025-07-08")).status).toBe(400);
      expect((await get("/api/coverage?from=2025-07-08&to=2025-07-01")).status).toBe(400);
      expect((await get("/api/coverage?limit=1001")).status).toBe(400);
      const bad = await get<{ error: string }>("/api/coverage?to=2025-02-30");
      expect(bad.json.error).toContain("to");
      expect((await get("/api/coverage?source=nope")).status).toBe(404);
    });
  });
}
