import type { TaskState } from "../store/index.js";

/** What readiness needs to know of a task instance. */
export interface ReadinessNode {
  /** Indexes of the instances it needs. */
  readonly needs: readonly number[];
  /** Its failure counts as success for its dependants, and not as a failure upstream of them. */
  readonly continueOnError?: boolean;
  /** The named concurrency limit it takes a slot of. */
  readonly concurrency?: string;
}

export interface ReadinessLimits {
  /** Instances in flight at once. */
  maxParallel: number;
  /** Slots of each named limit; a name not listed has 1. */
  concurrencyLimits?: Readonly<Record<string, number>> | undefined;
}

/** A named concurrency limit: slots taken, and the instances waiting for one, first come first served. */
interface Limit {
  capacity: number;
  used: number;
  waiting: number[];
  head: number;
}

/**
 * Which task instances may start, and what `success()` and `failure()` answer for each: the
 * bookkeeping of a run without its I/O or timers. Instances are indexes into the plan.
 *
 * The caller takes `next()` while it gives one, decides (cancelled? `if`?), and either ends the
 * instance at once with `end()` or calls `claim()` to start it; a started instance is ended with
 * `end()` too, which frees its slots and readies the instances waiting for it.
 */
export class Readiness {
  private readonly nodes: readonly ReadinessNode[];
  private readonly waitingFor: number[];
  private readonly dependants: number[][];
  private readonly upstreamFailed: boolean[];
  private readonly succeeded: boolean[];
  /** Instances whose needs have all ended, in the order they did (plan order at first). */
  private readonly queue: number[] = [];
  private head = 0;
  /** Waiters handed a freed slot of their limit: they go before the queue, having waited longest. */
  private readonly granted: number[] = [];
  private grantedHead = 0;
  /** 1: holds a slot of its named limit; 2: running too (holds a max_parallel slot). */
  private readonly holds: Uint8Array;
  private readonly limits = new Map<string, Limit>();
  private readonly maxParallel: number;
  private readonly capacities: Readonly<Record<string, number>>;
  private running = 0;
  private ended = 0;

  constructor(nodes: readonly ReadinessNode[], limits: ReadinessLimits) {
    this.nodes = nodes;
    this.maxParallel = limits.maxParallel;
    this.capacities = limits.concurrencyLimits ?? {};
    this.waitingFor = nodes.map((n) => n.needs.length);
    this.dependants = nodes.map(() => []);
    this.upstreamFailed = nodes.map(() => false);
    this.succeeded = nodes.map(() => false);
    this.holds = new Uint8Array(nodes.length);
    for (const [i, node] of nodes.entries()) {
      for (const n of node.needs) this.dependants[n]!.push(i);
      if (node.needs.length === 0) this.queue.push(i);
    }
  }

  /** Every instance has ended. */
  get done(): boolean {
    return this.ended === this.nodes.length;
  }

  /** Instances started and not ended. */
  get inFlight(): number {
    return this.running;
  }

  /**
   * The next instance whose needs have all ended, while fewer than `maxParallel` run; undefined
   * when none (yet). An instance waiting for its named limit comes back once a slot is its own.
   */
  next(): number | undefined {
    if (this.running >= this.maxParallel) return undefined;
    if (this.grantedHead < this.granted.length) {
      const i = this.granted[this.grantedHead++]!;
      if (this.grantedHead === this.granted.length) this.granted.length = this.grantedHead = 0;
      return i;
    }
    if (this.head === this.queue.length) return undefined;
    const i = this.queue[this.head++]!;
    // A long run readies many instances: drop the taken ones now and then.
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return i;
  }

  /**
   * Starts `i` (given by `next()`): it takes a max_parallel slot and a slot of its named limit.
   * False when that limit is full: `i` waits, behind the others waiting for it.
   */
  claim(i: number): boolean {
    const name = this.nodes[i]!.concurrency;
    if (name !== undefined && this.holds[i] === 0) {
      const limit = this.limitOf(name);
      if (limit.used >= limit.capacity) {
        limit.waiting.push(i);
        return false;
      }
      limit.used++;
    }
    this.holds[i] = 2;
    this.running++;
    return true;
  }

  /** `i` ended (started or not): its slots go to the next waiters, its dependants may become ready. */
  end(i: number, state: TaskState): void {
    const node = this.nodes[i]!;
    if (this.holds[i] === 2) this.running--;
    if (this.holds[i] !== 0 && node.concurrency !== undefined) this.release(this.limitOf(node.concurrency));
    this.holds[i] = 0;
    this.ended++;
    const failed = state === "Failed" && !node.continueOnError;
    this.succeeded[i] = state === "Completed" || state === "Cached" || (state === "Failed" && !failed);
    const failedUpstream = failed || this.upstreamFailed[i]!;
    for (const d of this.dependants[i]!) {
      if (failedUpstream) this.upstreamFailed[d] = true;
      if (--this.waitingFor[d]! === 0) this.queue.push(d);
    }
  }

  /**
   * What `success()` and `failure()` answer for `i`: every instance it needs Completed, was Cached
   * or Failed with continue_on_error; some instance upstream, transitively, Failed without it.
   */
  status(i: number): { success: boolean; failure: boolean } {
    return { success: this.needsSucceeded(i), failure: this.upstreamFailed[i]! };
  }

  /** `success()` alone (the default `if`). */
  needsSucceeded(i: number): boolean {
    for (const n of this.nodes[i]!.needs) if (!this.succeeded[n]) return false;
    return true;
  }

  private release(limit: Limit): void {
    if (limit.head < limit.waiting.length) {
      // The slot passes straight to the first waiter, so no later instance can take it first.
      const next = limit.waiting[limit.head++]!;
      this.holds[next] = 1;
      this.granted.push(next);
      return;
    }
    limit.used--;
  }

  private limitOf(name: string): Limit {
    let limit = this.limits.get(name);
    if (!limit) {
      limit = { capacity: this.capacities[name] ?? 1, used: 0, waiting: [], head: 0 };
      this.limits.set(name, limit);
    }
    return limit;
  }
}
