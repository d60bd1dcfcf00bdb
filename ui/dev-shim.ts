/**
 * Dev and preview only (never in the build): answers the console routes of
 * `src/api/console-contract.ts` that the daemon does not have yet, from the routes it has
 * (`/api/runs`, `/api/deployments`, `/api/query`, ...). Each request goes to the daemon first; only
 * its 404 falls back to the shim, so a daemon with the real route wins. The preview
 * server also sends the daemon's `Content-Security-Policy: default-src 'self'`.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Plugin } from "vite";
import { parse as parseYaml } from "yaml";
import type {
  BarsJson,
  CoverageJson,
  DeploymentDetailJson,
  DeploymentJson,
  OverviewJson,
  ParameterDeclarationJson,
  RunGraphJson,
  RunJson,
  RunsPageJson,
  SymbolEventsJson,
  SymbolJson,
  WorkPoolJson,
} from "../src/api/console-contract.ts";

class Upstream {
  constructor(
    private base: string,
    private auth: string | undefined,
  ) {}
  async get<T>(path: string): Promise<T> {
    const res = await fetch(this.base + path, { headers: this.auth ? { authorization: this.auth } : {} });
    if (!res.ok) throw new ShimError(res.status, await res.text());
    return (await res.json()) as T;
  }
  async sql<T>(sql: string): Promise<T[]> {
    const res = await fetch(`${this.base}/api/query`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(this.auth ? { authorization: this.auth } : {}) },
      body: JSON.stringify({ sql, limit: 100_000 }),
    });
    if (!res.ok) throw new ShimError(res.status, await res.text());
    return ((await res.json()) as { rows: T[] }).rows;
  }
}

class ShimError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(body);
  }
}

const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
const isoDate = (d: Date) => d.toISOString().slice(0, 10);

function weekdays(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = new Date(`${from}T00:00:00Z`); isoDate(d) <= to && out.length < 400; ) {
    const wd = d.getUTCDay();
    if (wd !== 0 && wd !== 6) out.push(isoDate(d));
    d = new Date(d.getTime() + 86_400_000);
  }
  return out;
}

function readYaml(file: string | null): Record<string, unknown> | null {
  if (!file) return null;
  try {
    return parseYaml(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch {
    return null;
  }
}

async function runsPage(url: URL, up: Upstream): Promise<RunsPageJson> {
  const limit = Number(url.searchParams.get("limit") ?? 50);
  const offset = Number(url.searchParams.get("before") ?? 0);
  const params = new URLSearchParams(url.searchParams);
  params.delete("before");
  params.set("limit", String(Math.min(1000, offset + limit + 1)));
  const all = await up.get<RunJson[]>(`/api/runs?${params}`);
  const runs = all.slice(offset, offset + limit);
  return { runs, next: all.length > offset + limit ? String(offset + limit) : null };
}

async function graph(id: string, up: Upstream): Promise<RunGraphJson> {
  const run = await up.get<RunJson>(`/api/runs/${encodeURIComponent(id)}`);
  const doc = readYaml(run.pipeline_file);
  const tasks = doc?.tasks as
    | Record<string, { uses: string; needs?: string[]; for_each?: unknown }>
    | undefined;
  if (!tasks) return { available: false, reason: `cannot read ${run.pipeline_file}`, nodes: [] };
  return {
    available: true,
    reason: null,
    nodes: Object.entries(tasks).map(([tid, t]) => ({
      id: tid,
      step: t.uses,
      needs: t.needs ?? [],
      for_each: t.for_each !== undefined,
    })),
  };
}

async function deployment(name: string, up: Upstream): Promise<DeploymentDetailJson> {
  const all = await up.get<DeploymentJson[]>("/api/deployments");
  const d = all.find((x) => x.name === name);
  if (!d) throw new ShimError(404, JSON.stringify({ error: `no deployment ${name}` }));
  const pipeline = readYaml(d.pipeline_file);
  const recent = await up.get<RunJson[]>(`/api/runs?deployment=${encodeURIComponent(name)}&limit=20`);
  const file = readYaml("deployment/tickflow.yaml");
  const decl = ((file?.deployments as { name: string; schedules?: Record<string, unknown>[] }[]) ?? []).find(
    (x) => x.name === name,
  );
  return {
    ...d,
    schedules: (decl?.schedules ?? []).map((s, index) => {
      const trigger = s.cron
        ? `cron "${s.cron}"`
        : s.interval
          ? `interval ${s.interval}`
          : `rrule "${s.rrule}"`;
      return {
        index,
        id: `${name}#${index}`,
        trigger,
        description: `${trigger}${s.timezone ? `, ${s.timezone}` : ""}${s.calendar ? `, ${s.calendar} sessions only` : ""} (dev shim)`,
        timezone: String(s.timezone ?? "UTC"),
        calendar: (s.calendar as string) ?? null,
        active: s.active !== false,
        paused: d.paused,
        fires:
          d.next_run && index === 0
            ? [{ at: d.next_run, local: d.next_run, notes: ["shim: no DST notes"] }]
            : [],
        skipped: [],
      };
    }),
    parameter_declarations: (pipeline?.parameters ?? {}) as Record<string, ParameterDeclarationJson>,
    pipeline_error: pipeline ? null : `cannot read ${d.pipeline_file}`,
    recent_runs: recent,
  };
}

async function queued(name: string, up: Upstream): Promise<WorkPoolJson> {
  const pools = await up.get<WorkPoolJson[]>("/api/work-pools");
  const pool = pools.find((p) => p.name === name);
  if (!pool) throw new ShimError(404, JSON.stringify({ error: `no work pool ${name}` }));
  const deps = (await up.get<DeploymentJson[]>("/api/deployments")).filter((d) => d.work_pool === name);
  const runs = await up.get<RunJson[]>("/api/runs?limit=200");
  const now = new Date().toISOString();
  const queued_runs = runs
    .filter((r) => (r.state === "Scheduled" || r.state === "Late") && (r.scheduled_at ?? "") <= now)
    .filter((r) => deps.some((d) => d.name === r.deployment))
    .sort((a, b) => (a.scheduled_at ?? "").localeCompare(b.scheduled_at ?? ""));
  return { ...pool, queued_runs };
}

async function symbols(url: URL, up: Upstream): Promise<SymbolJson[]> {
  const text = url.searchParams.get("q") ?? "";
  const source = url.searchParams.get("source");
  const limit = Math.min(50, Number(url.searchParams.get("limit") ?? 50));
  const rows = await up.sql<{
    source: string;
    symbol: string;
    first_date: string;
    last_date: string;
    sessions: number;
  }>(
    `SELECT source, symbol, min(date)::VARCHAR AS first_date, max(date)::VARCHAR AS last_date, count(*)::INTEGER AS sessions
     FROM bars_daily WHERE symbol ILIKE ${q(`%${text}%`)} ${source ? `AND source = ${q(source)}` : ""}
     GROUP BY ALL ORDER BY symbol, source LIMIT ${limit}`,
  );
  return rows;
}

async function bars(source: string, symbol: string, url: URL, up: Upstream): Promise<BarsJson> {
  const rows = await up.sql<Record<string, number | string | null>>(
    `SELECT date::VARCHAR AS date, open, high, low, close, volume FROM bars_daily
     WHERE source = ${q(source)} AND symbol = ${q(symbol)} ORDER BY date`,
  );
  const names = await up.sql<{ name: string }>(
    `SELECT DISTINCT name FROM indicators WHERE source = ${q(source)} AND symbol = ${q(symbol)} ORDER BY name`,
  );
  const wanted = (url.searchParams.get("indicators") ?? "").split(",").filter(Boolean);
  const out: BarsJson = {
    source,
    symbol,
    date: rows.map((r) => String(r.date)),
    open: rows.map((r) => r.open as number),
    high: rows.map((r) => r.high as number),
    low: rows.map((r) => r.low as number),
    close: rows.map((r) => r.close as number),
    volume: rows.map((r) => r.volume as number),
    indicators: {},
    available_indicators: names.map((n) => n.name),
  };
  const index = new Map(out.date.map((d, i) => [d, i]));
  for (const name of wanted) {
    const series: (number | null)[] = out.date.map(() => null);
    const values = await up.sql<{ date: string; value: number | null }>(
      `SELECT date::VARCHAR AS date, value FROM indicators WHERE source = ${q(source)} AND symbol = ${q(symbol)} AND name = ${q(name)}`,
    );
    for (const v of values) {
      const i = index.get(v.date);
      if (i !== undefined) series[i] = v.value;
    }
    out.indicators[name] = series;
  }
  return out;
}

async function events(source: string, symbol: string, up: Upstream): Promise<SymbolEventsJson> {
  return {
    corporate_actions: await up.sql(
      `SELECT date::VARCHAR AS date, kind, value FROM corporate_actions WHERE source = ${q(source)} AND symbol = ${q(symbol)} ORDER BY date`,
    ),
    quality: await up.sql(
      `SELECT run_id, date::VARCHAR AS date, check_name, severity, message FROM quality_results
       WHERE source = ${q(source)} AND symbol = ${q(symbol)} ORDER BY created_at DESC, date LIMIT 1000`,
    ),
  };
}

async function coverage(url: URL, up: Upstream): Promise<CoverageJson> {
  const sources = (
    await up.sql<{ source: string }>("SELECT DISTINCT source FROM bars_daily ORDER BY source")
  ).map((r) => r.source);
  const source = url.searchParams.get("source") ?? sources[0] ?? "";
  const last = (
    await up.sql<{ d: string | null }>(
      `SELECT max(date)::VARCHAR AS d FROM bars_daily WHERE source = ${q(source)}`,
    )
  )[0]?.d;
  const to = url.searchParams.get("to") ?? last ?? isoDate(new Date());
  const from =
    url.searchParams.get("from") ?? isoDate(new Date(Date.parse(`${to}T00:00:00Z`) - 365 * 86_400_000));
  const days = weekdays(from, to);
  const offset = Number(url.searchParams.get("offset") ?? 0);
  const limit = Math.min(1000, Number(url.searchParams.get("limit") ?? 500));
  const span = await up.sql<{ symbol: string; first_date: string; last_date: string }>(
    `SELECT symbol, min(date)::VARCHAR AS first_date, max(date)::VARCHAR AS last_date FROM bars_daily
     WHERE source = ${q(source)} GROUP BY symbol ORDER BY symbol`,
  );
  const page = span.slice(offset, offset + limit);
  const have = await up.sql<{ symbol: string; date: string }>(
    `SELECT symbol, date::VARCHAR AS date FROM bars_daily WHERE source = ${q(source)} AND date BETWEEN ${q(from)} AND ${q(to)}`,
  );
  const bad = await up.sql<{ symbol: string; date: string }>(
    `SELECT DISTINCT symbol, date::VARCHAR AS date FROM quality_results
     WHERE source = ${q(source)} AND severity = 'error' AND date BETWEEN ${q(from)} AND ${q(to)}`,
  );
  const loaded = new Set(have.map((r) => `${r.symbol}|${r.date}`));
  const errors = new Set(bad.map((r) => `${r.symbol}|${r.date}`));
  const anyDay = new Set(have.map((r) => r.date));
  // Approximation: a weekday with no bar for any symbol is a holiday (the real route asks the XNYS calendar).
  const dayList = days.map((date) => ({
    date,
    holiday: anyDay.has(date) || date > (last ?? "") ? null : "holiday",
  }));
  return {
    source,
    from,
    to,
    days: dayList,
    symbols: page.map((s) => ({
      symbol: s.symbol,
      cells: dayList
        .map((d) => {
          const key = `${s.symbol}|${d.date}`;
          if (d.date < s.first_date || d.date > s.last_date) return "-";
          if (d.holiday) return "H";
          if (errors.has(key)) return "Q";
          return loaded.has(key) ? "L" : "M";
        })
        .join(""),
    })),
    total: span.length,
    offset,
    sources,
  };
}

async function overview(up: Upstream): Promise<OverviewJson> {
  const health = await up.get<{ status: string }>("/api/health");
  const recent = await up.get<RunJson[]>("/api/runs?since=24h&limit=1000");
  const runs_24h: OverviewJson["runs_24h"] = {};
  for (const r of recent) runs_24h[r.state] = (runs_24h[r.state] ?? 0) + 1;
  const fresh = await up.sql<{ source: string; latest_loaded: string; symbols: number }>(
    "SELECT source, max(date)::VARCHAR AS latest_loaded, count(DISTINCT symbol)::INTEGER AS symbols FROM bars_daily GROUP BY source ORDER BY source",
  );
  let due = new Date(Date.now() - 22 * 3600_000);
  while (due.getUTCDay() === 0 || due.getUTCDay() === 6) due = new Date(due.getTime() - 86_400_000);
  const latest_due = isoDate(due);
  const lastValidation = (
    await up.sql<{ run_id: string | null }>(
      "SELECT run_id FROM quality_results ORDER BY created_at DESC LIMIT 1",
    )
  )[0]?.run_id;
  const findings = lastValidation
    ? await up.sql<{ source: string; check_name: string; severity: string; count: number }>(
        `SELECT source, check_name, severity, count(*)::INTEGER AS count FROM quality_results WHERE run_id = ${q(lastValidation)} GROUP BY ALL ORDER BY count DESC`,
      )
    : [];
  return {
    now: new Date().toISOString(),
    writable: health.status !== "read-only",
    runs_24h,
    attention: recent.filter((r) => ["Failed", "Crashed", "Late"].includes(r.state)).slice(0, 20),
    next_runs: await up.get<RunJson[]>("/api/runs?upcoming=true&limit=10"),
    freshness: fresh.map((f) => ({
      ...f,
      latest_due,
      sessions_behind: weekdays(f.latest_loaded, latest_due).length - 1,
      overdue_seconds: null,
    })),
    quality: { run_id: lastValidation ?? null, findings },
    pools: await up.get<WorkPoolJson[]>("/api/work-pools"),
  };
}

const routes: [RegExp, (m: RegExpMatchArray, url: URL, up: Upstream) => Promise<unknown>][] = [
  [/^\/api\/overview$/, (_m, _u, up) => overview(up)],
  [/^\/api\/runs\/page$/, (_m, url, up) => runsPage(url, up)],
  [/^\/api\/runs\/([^/]+)\/graph$/, (m, _u, up) => graph(decodeURIComponent(m[1]!), up)],
  [/^\/api\/deployments\/([^/]+)$/, (m, _u, up) => deployment(decodeURIComponent(m[1]!), up)],
  [/^\/api\/work-pools\/([^/]+)\/queued$/, (m, _u, up) => queued(decodeURIComponent(m[1]!), up)],
  [/^\/api\/data\/symbols$/, (_m, url, up) => symbols(url, up)],
  [
    /^\/api\/data\/([^/]+)\/([^/]+)\/bars$/,
    (m, url, up) => bars(decodeURIComponent(m[1]!), decodeURIComponent(m[2]!), url, up),
  ],
  [
    /^\/api\/data\/([^/]+)\/([^/]+)\/events$/,
    (m, _u, up) => events(decodeURIComponent(m[1]!), decodeURIComponent(m[2]!), up),
  ],
  [/^\/api\/coverage$/, (_m, url, up) => coverage(url, up)],
];

function middleware(base: string) {
  return async (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const route = req.method === "GET" ? routes.find(([re]) => re.test(url.pathname)) : undefined;
    if (!route) return next();
    const auth = req.headers.authorization;
    const send = (status: number, body: string) => {
      res.statusCode = status;
      res.setHeader("content-type", "application/json");
      res.end(body);
    };
    try {
      const real = await fetch(base + (req.url ?? ""), { headers: auth ? { authorization: auth } : {} });
      const text = await real.text();
      // 404: no such route yet (or, for /api/runs/page, the old route taking "page" for a run id).
      if (real.status !== 404) return send(real.status, text);
      const match = url.pathname.match(route[0])!;
      send(200, JSON.stringify(await route[1](match, url, new Upstream(base, auth))));
    } catch (err) {
      if (err instanceof ShimError) return send(err.status, err.body);
      send(502, JSON.stringify({ error: `dev shim: ${(err as Error).message}` }));
    }
  };
}

export function devShim(base: string): Plugin {
  return {
    name: "tickflow-dev-shim",
    apply: "serve",
    configureServer(server) {
      server.middlewares.use(middleware(base));
    },
    configurePreviewServer(server) {
      server.middlewares.use((_req, res, next) => {
        res.setHeader("Content-Security-Policy", "default-src 'self'");
        next();
      });
      server.middlewares.use(middleware(base));
    },
  };
}
