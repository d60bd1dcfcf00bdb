/**
 * `tickflow daemon`: the scheduler, the workers and the HTTP API in one process holding the
 * database. One control connection (serialised) does the scheduling, claiming and API reads;
 * runs execute in this process on the store, as `tickflow run` does.
 *
 * Lifecycle: open, register the deployment files (if given), mark Crashed whatever a dead process
 * left holding a slot, serve, READY=1. SIGTERM/SIGINT: STOPPING=1, take no more runs, let running
 * ones finish up to the grace period, cancel the rest, exit 0. SIGHUP: reload the files.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createApi } from "../api/app.js";
import { checkApiBinding, isOwnHost, serveApi } from "../api/serve.js";
import { xnysDate } from "../calendar/index.js";
import { maskerOf } from "../config/masker.js";
import { createConsoleApp } from "../console-server/app.js";
import { shippedConsoleFiles } from "../console-server/files.js";
import { createDaemonMetrics } from "../metrics/daemon-metrics.js";
import type { RetryPolicy } from "../notify/sender.js";
import type { LogLevel } from "../pipeline/step-spec.js";
import { runRecordsOf, storageFault } from "../store/index.js";
import type { ClaimFilter, DaemonStore } from "./daemon-store.js";
import type { DeployChange } from "./deploy.js";
import { errorFields } from "./log.js";
import { createNotifier, monotonicUsec } from "./notify.js";
import { openDaemonStore } from "./open-daemon-store.js";
import type { SchedulerOptions } from "./scheduler.js";
import { statusText } from "./status.js";
import { workRun } from "./worker.js";

export type DaemonLog = (
  level: "debug" | "info" | "warn" | "error",
  message: string,
  fields?: object,
) => void;

export interface DaemonOptions {
  dbPath: string;
  host: string;
  port: number;
  token: string | undefined;
  /** Other names the API may be reached by (`TICKFLOW_API_HOSTS`). */
  apiHosts?: readonly string[];
  env: Record<string, string | undefined>;
  log: DaemonLog;
  /**
   * The least level `log` writes (TICKFLOW_LOG_LEVEL). Runs' log lines at warn and above are
   * copied to it; at debug, all of them. Default info.
   */
  logLevel?: LogLevel;
  /**
   * Registers the deployment files; called at start and on SIGHUP (`log`: for their warnings). A
   * `DiagnosticsError` refuses them with each problem's position. Absent: use what is registered.
   */
  register?: (store: DaemonStore, log: DaemonLog) => Promise<DeployChange[]>;
  /**
   * A worker (`tickflow worker`): executes runs, with no scheduler, no API and no notifications.
   * Only on PostgreSQL (a DuckDB file is held by its daemon).
   */
  worker?: boolean;
  /** The runs a worker takes: its `--pool` and `--queue`s. */
  claim?: ClaimFilter;
  /**
   * This process's name in the database (`runs.lease_owner`): on PostgreSQL a restart under the
   * same name recovers the runs its previous life held. Default `host:daemon:port` or
   * `host:worker:pool` (`TICKFLOW_NAME`); each process on one database needs its own.
   */
  name?: string;
  /** How often a standby tries to take the scheduler over (PostgreSQL). Default 1 s. */
  leaderRetryMs?: number;
  /** Most runs executing at once in this daemon. Default 4. */
  maxRuns?: number;
  /** Scheduler pass interval. Default 10 s. */
  scheduleEveryMs?: number;
  /** Claim loop interval. Default 1 s. */
  pollMs?: number;
  leaseMs?: number;
  /** How long SIGTERM waits for running runs before cancelling them. Default 30 s. */
  graceMs?: number;
  scheduler?: SchedulerOptions;
  /** How often the daemon writes its row (its test that the database takes writes). Default 5 s. */
  heartbeatMs?: number;
  /** The clock (tests). */
  now?: () => Date;
  /** The notification sender: how often it looks at the outbox (default 1 s), its retries. */
  notify?: { everyMs?: number; retry?: Partial<RetryPolicy>; freshnessEveryMs?: number };
  version: string;
}

export interface Daemon {
  readonly port: number;
  /** Begins the shutdown (as SIGTERM does); resolves with the exit code when it is over. */
  stop(): Promise<number>;
  readonly done: Promise<number>;
}

interface Active {
  controller: AbortController;
  done: Promise<unknown>;
  deployment: string | null;
}

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const now = options.now ?? (() => new Date());
  // The service's secrets never reach its log, whatever a message quotes (API errors, run errors).
  const masker = maskerOf(options.env);
  const log: DaemonLog = (level, message, fields) =>
    options.log(level, masker.mask(message), fields && masker.maskValue(fields));
  const owner = options.name ?? defaultName(options);
  const maxRuns = options.maxRuns ?? 4;
  const leaseMs = options.leaseMs ?? 60_000;
  const graceMs = options.graceMs ?? 30_000;
  // Refuse a bad binding before taking the database.
  if (!options.worker) checkApiBinding(options.host, options.token);
  const notifier = createNotifier(options.env, (m) => log("warn", m));
  const { store, daemonStore: ds } = await openDaemonStore(options.dbPath, {
    worker: options.worker === true,
  });
  try {
    return await serve();
  } catch (err) {
    notifier.close();
    await ds.close().catch(() => undefined);
    throw err;
  }

  async function serve(): Promise<Daemon> {
    // Runs a dead process left holding a slot (DuckDB: any; PostgreSQL: this name's previous life,
    // the name held from here on).
    const crashed = await ds.recoverAtStart(owner, now());
    await ds.registerDaemon({ owner, host: hostname(), pid: process.pid, version: options.version }, now());
    /** Why the database takes no writes (a full disk...), from the last write that failed for it. */
    let fault: string | undefined;
    // After a failed write this process writes no more: DuckDB 1.5 may abort the process on the
    // next write to a row the failed commit touched (seen: "Failed to append to PRIMARY_runs_0").
    // It answers reads, refuses writes with 503, and leaves restarting to systemd's watchdog; a
    // restart replays the log into a consistent database once there is room again.
    const noteFault = (found: string) => {
      if (fault === undefined) {
        log(
          "error",
          `database unusable: ${found}; no more writes: health answers 503, writes are refused and systemd's watchdog is no longer fed (a restart recovers once there is room)`,
        );
      }
      fault = found;
    };
    /** An error of the loop, a lease renewal or the heartbeat: logged, or taken as a storage fault. */
    const trouble = (what: string, err: unknown) => {
      const found = storageFault(err);
      if (found === undefined) log("error", `${what}: ${err instanceof Error ? err.message : String(err)}`);
      else noteFault(found);
    };
    const active = new Map<string, Active>();
    let stopping = false;
    /** SIGHUP's reloads, one after another; the shutdown waits for the last. */
    let reloading: Promise<void> = Promise.resolve();
    let lastPass: Date | undefined;
    const metrics = createDaemonMetrics({
      version: options.version,
      runsActive: () => active.size,
      runsLimit: maxRuns,
      read: () => ds.gauges(now()),
    });
    /** Runs that ended without a worker of this daemon (crashed, refused by `cancel_new`). */
    const countEnded = async (ids: readonly string[], state: "Crashed" | "Cancelled") => {
      if (ids.length === 0) return;
      for (const deployment of await ds.deploymentsOfRuns(ids)) metrics.runEnded(deployment, state);
    };

    const register = async (why: string) => {
      if (!options.register) return;
      const changes = await options.register(ds, log);
      for (const c of changes)
        log(
          "info",
          `${why}: ${c.kind} ${c.name} ${c.change}${c.detail ? ` (${c.detail})` : ""}`,
          c.kind === "deployment" ? { deployment: c.name } : undefined,
        );
      if (changes.length === 0) log("info", `${why}: deployments unchanged`);
      // Loading 1,000 deployments leaves tens of MB of garbage that V8 would keep for a long
      // while in an otherwise idle process: collect it once, now.
      collectGarbage();
    };
    await register("deploy");
    if (crashed.length > 0)
      log("warn", `marked ${crashed.length} run(s) Crashed: their process died`, { run_ids: crashed });
    await countEnded(crashed, "Crashed");

    const today = () => xnysDate(now());

    // One process schedules and reaps expired leases: DuckDB's only one, PostgreSQL's leader.
    let leading = false;
    const leadership = options.worker
      ? undefined
      : ds.lead({
          retryMs: options.leaderRetryMs ?? 1000,
          onChange: (leads) => {
            if (leads !== leading)
              log("info", leads ? "leading: this process schedules" : "no longer leading");
            leading = leads;
            if (leads) lastPass = undefined;
          },
        });

    const tick = async () => {
      if (fault !== undefined) return;
      const t = now();
      if (leading && (!lastPass || t.getTime() - lastPass.getTime() >= (options.scheduleEveryMs ?? 10_000))) {
        const started = performance.now();
        const result = await ds.schedulePass(t, options.scheduler);
        metrics.schedulerPass((performance.now() - started) / 1000);
        metrics.runsLate(result.lateDeployments);
        lastPass = t;
        if (result.created + result.late + result.dropped > 0) {
          log(
            "info",
            `scheduler: ${result.created} run(s) created, ${result.late} late, ${result.dropped} missed dropped`,
          );
        }
      }
      if (stopping) return;
      const { claimed, cancelled } = await ds.claimRuns(
        t,
        owner,
        leaseMs,
        maxRuns - active.size,
        options.claim,
      );
      await countEnded(cancelled, "Cancelled");
      for (const id of cancelled)
        log("warn", `run ${id} cancelled: its deployment is at its concurrency limit`, { run_id: id });
      for (const run of claimed) {
        const controller = new AbortController();
        const defaults = await ds.poolDefaults(run.workPool);
        const fields = { run_id: run.id, ...(run.deployment ? { deployment: run.deployment } : {}) };
        log(
          "info",
          `run ${run.id} starting (${run.deployment ?? "on demand"}, ${run.logicalDate ?? today()})`,
          fields,
        );
        metrics.runStarted(run, t);
        const began = performance.now();
        const done = workRun(store, run, {
          signal: controller.signal,
          env: { ...options.env, ...defaults.env },
          ...(defaults.timeout ? { timeout: defaults.timeout } : {}),
          today: today(),
          log,
          logLevel: options.logLevel ?? "info",
          onEvent: metrics.taskEvents(),
        })
          .then((r) => {
            metrics.runEnded(run.deployment, r.state, (performance.now() - began) / 1000);
            return r;
          })
          .then((r) =>
            log(
              r.state === "Completed" ? "info" : "warn",
              `run ${run.id} ${r.state}${r.error ? `: ${r.error}` : ""}`,
              fields,
            ),
          )
          .catch((err: unknown) =>
            log("error", `run ${run.id}: ${err instanceof Error ? err.message : String(err)}`, fields),
          )
          .finally(() => {
            active.delete(run.id);
          });
        active.set(run.id, { controller, done, deployment: run.deployment });
      }
      await updateStatus();
    };

    // systemd's STATUS=: sent when it changes, read at most once a second (and only for systemd).
    let statusSent: string | undefined;
    let statusReadAt = Number.NEGATIVE_INFINITY;
    const who = () => (options.worker ? `worker ${owner}` : `API on ${options.host}:${servedPort}`);
    const currentStatus = async () => statusText(who(), active.size, await ds.waitingRuns(now()));
    /** For READY=1, which must go whatever the database says. */
    const readyStatus = () => currentStatus().catch(who);
    const updateStatus = async () => {
      if (!notifier.enabled || stopping || fault !== undefined) return;
      if (performance.now() - statusReadAt < 1000) return;
      statusReadAt = performance.now();
      const status = await currentStatus();
      if (status === statusSent) return;
      statusSent = status;
      await notifier.send(`STATUS=${status}`);
    };

    let timer: NodeJS.Timeout | undefined;
    let ticking: Promise<void> | undefined;
    /** A wake-up (NOTIFY) during a tick: tick again at once when it ends. */
    let wokenDuringTick = false;
    const loop = () => {
      timer = undefined;
      wokenDuringTick = false;
      ticking = tick()
        .catch((err: unknown) => trouble("scheduler/worker loop", err))
        .finally(() => {
          ticking = undefined;
          if (stopping) return;
          if (wokenDuringTick) loop();
          else timer = setTimeout(loop, options.pollMs ?? 1000);
        });
    };
    /** Runs may be claimable (another process's NOTIFY): tick now rather than at the next poll. */
    const wake = () => {
      if (stopping) return;
      if (ticking) wokenDuringTick = true;
      else if (timer) {
        clearTimeout(timer);
        loop();
      }
    };
    const listening = await ds.listen(wake);
    let servedPort = options.port;
    const api = options.worker ? undefined : await serveApiAndConsole();
    if (api) servedPort = api.port;

    async function serveApiAndConsole() {
      const control = ds.controlPlane(
        {
          has: (id) => active.has(id),
          cancel: (id) => active.get(id)?.controller.abort(new Error("cancelled through the API")),
        },
        now,
      );
      const ownHost = (host: string | undefined) =>
        isOwnHost(host, { host: options.host, port: servedPort, names: options.apiHosts ?? [] });
      const app = createApi({
        control,
        views: ds.consoleViews(now),
        token: options.token,
        ownHost,
        onError: (m) => log("error", m),
        onStorageFault: noteFault,
        writesRefused: () => fault,
        health: async () => ({
          status: fault !== undefined ? "database unusable" : stopping ? "stopping" : "ok",
          ...(fault !== undefined ? { error: fault } : {}),
          version: options.version,
          database: ds.display,
          runs_active: active.size,
          last_schedule_pass: lastPass?.toISOString() ?? null,
          memory_mb: Object.fromEntries(
            Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 1048576)]),
          ),
        }),
        metrics: () => metrics.scrape(),
      });
      // The console on the same port (SPEC section 10): `/` and its files; `/api` and `/metrics` to `app`.
      return serveApi(createConsoleApp({ api: app, files: shippedConsoleFiles(), ownHost }), {
        host: options.host,
        port: options.port,
        token: options.token,
      });
    }
    const leaseTimer = setInterval(
      () => {
        if (fault !== undefined) return;
        const ids = [...active.keys()];
        (async () => {
          const held = new Set(await ds.renewLeases(owner, ids, new Date(now().getTime() + leaseMs)));
          // A run whose lease another process found expired is Crashed: stop executing it. (One
          // not renewed because it has just ended, still finishing here, is left alone.)
          for (const id of ids) {
            if (held.has(id) || !active.has(id)) continue;
            const run = await runRecordsOf(store).findRun(id);
            if (run !== undefined && run.state !== "Crashed") continue;
            log("warn", `run ${id} lost its lease (marked ${run?.state ?? "gone"} elsewhere): stopping it`, {
              run_id: id,
            });
            active.get(id)?.controller.abort(new Error("its lease was lost"));
          }
          if (!leading) return;
          const lost = await ds.crashExpired(now(), new Set(ids));
          if (lost.length > 0)
            log("warn", `marked ${lost.length} run(s) Crashed after their lease expired`, { run_ids: lost });
          await countEnded(lost, "Crashed");
        })().catch((err: unknown) => trouble("lease renewal", err));
      },
      Math.max(100, Math.floor(leaseMs / 3)),
    );
    // The daemon's row, written every few seconds, tells whether the database takes writes.
    const heartbeat = setInterval(() => {
      if (fault !== undefined) return;
      ds.daemonSeen(owner, now()).catch((err: unknown) => trouble("heartbeat", err));
    }, options.heartbeatMs ?? 5000);
    // Unfed while the database is unusable: systemd restarts the service.
    const watchdog = notifier.watchdogMs
      ? setInterval(() => {
          if (fault === undefined) void notifier.send("WATCHDOG=1");
        }, notifier.watchdogMs)
      : undefined;

    loop();

    // Notifications: the outbox's due messages, delivered apart from the scheduling loop (a slow
    // receiver never delays a run); the leader's job on PostgreSQL (workers never send).
    const sender = ds.notifySender({
      env: options.env,
      now,
      log: (level, message, fields) => log(level, message, fields),
      ...(options.notify?.retry ? { retry: options.notify.retry } : {}),
    });
    let sendTimer: NodeJS.Timeout | undefined;
    let sending: Promise<void> = Promise.resolve();
    let freshnessAt = Number.NEGATIVE_INFINITY;
    const notifyPass = async () => {
      if (fault !== undefined || !leading) return;
      // Freshness rules write their Stale/Recovered messages to the outbox, then the sender sends.
      const check = now().getTime() - freshnessAt >= (options.notify?.freshnessEveryMs ?? 30_000);
      if (check) freshnessAt = now().getTime();
      await ds.notifyPass({ now: now(), checkFreshness: check, sender });
    };
    const sendLoop = () => {
      sending = notifyPass()
        .catch((err: unknown) => trouble("notifications", err))
        .finally(() => {
          if (!stopping) sendTimer = setTimeout(sendLoop, options.notify?.everyMs ?? 1000);
        });
    };
    if (!options.worker) sendLoop();

    let resolveDone!: (code: number) => void;
    const done = new Promise<number>((resolve) => {
      resolveDone = resolve;
    });
    let stopPromise: Promise<number> | undefined;
    const stop = (): Promise<number> => {
      stopPromise ??= (async () => {
        stopping = true;
        log("info", `stopping: ${active.size} run(s) in flight, grace ${graceMs} ms`);
        await notifier.send("STOPPING=1");
        if (timer) clearTimeout(timer);
        if (sendTimer) clearTimeout(sendTimer);
        await listening.stop().catch(() => undefined);
        await ticking;
        await reloading;
        const all = Promise.all([...active.values()].map((a) => a.done));
        const graceOver = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
        if ((await Promise.race([all.then(() => "done"), graceOver.then(() => "grace")])) === "grace") {
          log("warn", `grace period over: cancelling ${active.size} run(s)`, { run_ids: [...active.keys()] });
          for (const a of active.values()) a.controller.abort(new Error("daemon stopping"));
          await all;
        }
        // Runs that ended in the grace period announce it: one last pass, then stop sending.
        if (sendTimer) clearTimeout(sendTimer);
        await sending;
        if (fault === undefined && leading && !options.worker)
          await sender.pass().catch((err: unknown) => trouble("notifications", err));
        sender.close();
        clearInterval(leaseTimer);
        clearInterval(heartbeat);
        if (watchdog) clearInterval(watchdog);
        await api?.close();
        await leadership?.stop().catch(() => undefined);
        if (fault === undefined) {
          try {
            // Runs claimed but not started (none, once the loop has stopped) go back to the queue.
            await ds.handBack(owner, now());
            await ds.forgetDaemon(owner);
          } catch (err) {
            trouble("stopping", err);
          }
        }
        notifier.close();
        metrics.close();
        await ds.close();
        // A database that took no writes at the end is a failure for systemd (Restart=on-failure).
        const code = fault === undefined ? 0 : 1;
        log(code === 0 ? "info" : "error", code === 0 ? "stopped" : `stopped; database unusable: ${fault}`);
        resolveDone(code);
        return code;
      })();
      return stopPromise;
    };

    const onTerm = () => void stop();
    // systemd's reload protocol (Type=notify-reload, systemd >= 253; with ExecReload= too): RELOADING=1
    // with the time it began, then READY=1 once done, failed or not, so `systemctl reload` waits.
    const reload = async () => {
      if (stopping) return;
      await notifier.send(
        `RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}\nSTATUS=reloading the deployment files`,
      );
      try {
        await register("reload");
      } catch (err) {
        log(
          "error",
          `reload failed, keeping the registered deployments: ${err instanceof Error ? err.message : String(err)}`,
          errorFields(err),
        );
      }
      if (stopping) return;
      statusSent = await readyStatus();
      await notifier.send(`READY=1\nSTATUS=${statusSent}`);
    };
    const onHup = () => {
      reloading = reloading.then(reload);
    };
    process.on("SIGTERM", onTerm);
    process.on("SIGINT", onTerm);
    process.on("SIGHUP", onHup);
    done.finally(() => {
      process.off("SIGTERM", onTerm);
      process.off("SIGINT", onTerm);
      process.off("SIGHUP", onHup);
    });
    // Signals are handled from here on: only now say so (tests and systemd wait for these).
    log(
      "info",
      api
        ? `listening on http://${options.host}:${api.port}, database ${ds.display}`
        : `worker ${owner} taking runs of ${options.claim?.pools?.join(", ") ?? "every pool"}, database ${ds.display}`,
    );
    statusSent = notifier.enabled ? await readyStatus() : "";
    await notifier.send(`READY=1\nSTATUS=${statusSent}\nMAINPID=${process.pid}`);
    return { port: api?.port ?? 0, stop, done };
  }
}

/**
 * This process's name in the database when none is given. PostgreSQL: stable across restarts (a
 * restart recovers its runs at once), unique per host and port or pool. DuckDB: one process holds
 * the file, so any unique name does.
 */
function defaultName(options: DaemonOptions): string {
  if (!options.dbPath.includes("://")) return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  if (options.worker) return `${hostname()}:worker:${options.claim?.pools?.join("+") ?? "any"}`;
  // Port 0 (a free one, chosen at start) says nothing stable: the process id instead.
  return `${hostname()}:daemon:${options.port || process.pid}`;
}

/** A full garbage collection (V8's gc, reached without the --expose-gc flag). */
function collectGarbage(): void {
  try {
    setFlagsFromString("--expose-gc");
    (runInNewContext("gc") as () => void)();
  } catch {
    // Not available: V8 collects on its own schedule.
  }
}
