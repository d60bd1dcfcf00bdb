/**
 * Leader election among daemons sharing a PostgreSQL database: one runs the scheduler (and crashes
 * expired leases) at a time. The leader holds a **session** advisory lock (`pg_try_advisory_lock`,
 * key ('tick', 2)) on one dedicated connection, outside the pool (a pooled client is handed to
 * others and may be closed when idle). The server releases the lock when that connection ends,
 * however it ends (the process killed, `pg_terminate_backend`, the host gone once TCP notices), and
 * a standby, trying again every `retryMs`, takes over.
 *
 * The leader learns it lost when its connection reports an error or ends, or when its check
 * (`SELECT 1` every `retryMs`, with a timeout) fails; it then stops leading (`onChange(false)`)
 * and starts over as a standby on a new connection, after two retry intervals (so that a standby
 * that was waiting takes over rather than the process that just lost). Not done: fencing. A leader cut off from the
 * server without noticing may act for up to a check interval after a standby took over; work it does
 * goes through guarded transitions, which tolerate that.
 */
import pg from "pg";

/** The advisory lock of the leader: ('tick' as an int4, 2). Migrations use ('tick', 1). */
export const LEADER_LOCK: readonly [number, number] = [0x7469636b, 2];

export interface LeadershipOptions {
  /** The lock (default `LEADER_LOCK`). */
  key?: readonly [number, number];
  /** A standby tries again, and a leader checks its connection, this often (default 1000 ms). */
  retryMs?: number;
  /** Called when this process starts (true) or stops (false) leading. */
  onChange?: (leading: boolean) => void;
}

/** A connection of its own to `pool`'s server: same settings, kept alive, checks time out. */
export function dedicatedClient(pool: pg.Pool, timeoutMs: number): pg.Client {
  return new pg.Client({ ...pool.options, keepAlive: true, query_timeout: timeoutMs });
}

/**
 * One attempt: a connection holding the leader lock, or undefined (another process holds it; the
 * connection is closed). The caller ends the connection to step down.
 */
export async function tryLeadPg(
  pool: pg.Pool,
  key: readonly [number, number] = LEADER_LOCK,
  timeoutMs = 5000,
): Promise<pg.Client | undefined> {
  const client = dedicatedClient(pool, timeoutMs);
  client.on("error", () => {});
  await client.connect();
  try {
    if (await tryLock(client, key)) return client;
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  await client.end();
  return undefined;
}

async function tryLock(client: pg.Client, key: readonly [number, number]): Promise<boolean> {
  const result = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [...key]);
  return result.rows[0]?.ok === true;
}

/**
 * Trying to lead, all the time: `Leadership.start(pool)` returns at once; `leading` says whether
 * this process leads now. `stop()` steps down (the lock goes with the connection).
 */
export class Leadership {
  #leading = false;
  #stopped = false;
  #client: pg.Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #backendPid: number | undefined;
  #running: Promise<void> | undefined;
  /** After losing the lead, no attempt before this (ms since the epoch): the waiting standbys go first. */
  #notBefore = 0;
  readonly #key: readonly [number, number];
  readonly #retryMs: number;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly options: LeadershipOptions,
  ) {
    this.#key = options.key ?? LEADER_LOCK;
    this.#retryMs = options.retryMs ?? 1000;
  }

  static start(pool: pg.Pool, options: LeadershipOptions = {}): Leadership {
    const leadership = new Leadership(pool, options);
    leadership.#schedule(0);
    return leadership;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** The server process of the connection holding the lock, while leading. */
  get backendPid(): number | undefined {
    return this.#leading ? this.#backendPid : undefined;
  }

  /** Stops trying; a leader steps down (its connection ends, the server frees the lock). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running?.catch(() => {});
    this.#setLeading(false);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#round().finally(() => this.#schedule(this.#retryMs));
    }, ms);
    this.#timer.unref?.();
  }

  #setLeading(leading: boolean): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    this.options.onChange?.(leading);
  }

  /** The connection is gone or unusable: stop leading, and start over on a new one. */
  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    if (this.#leading) this.#notBefore = Date.now() + 2 * this.#retryMs;
    this.#setLeading(false);
    client.end().catch(() => {});
  }

  async #round(): Promise<void> {
    if (this.#stopped || Date.now() < this.#notBefore) return;
    let client = this.#client;
    try {
      if (client === undefined) {
        const fresh = dedicatedClient(this.pool, Math.max(this.#retryMs, 1000));
        fresh.on("error", () => this.#lost(fresh));
        fresh.on("end", () => this.#lost(fresh));
        this.#client = client = fresh;
        await fresh.connect();
        const pid = await fresh.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        this.#backendPid = pid.rows[0]?.pid;
      }
      if (this.#leading) await client.query("SELECT 1");
      else if (await tryLock(client, this.#key)) {
        if (this.#stopped || this.#client !== client) return;
        this.#setLeading(true);
      }
    } catch {
      if (client) this.#lost(client);
    }
  }
}
