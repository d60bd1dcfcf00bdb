/**
 * The daemon's sender: takes the outbox's due messages, resolves each channel's secrets from the
 * environment (now, never stored), delivers, and records the outcome (attempts, last error,
 * delivered_at or failed_at). Retries back off exponentially with jitter; 429 honours Retry-After;
 * a 4xx other than 429 fails at once. A message is marked delivered only after its receiver took
 * it, so a crash in between sends it again with the same Idempotency-Key (at least once; the key
 * lets a receiver keep exactly one). On either backend (`OutboxStore`): on PostgreSQL, where
 * several daemons may each run a sender, a pass holds the messages it took until it has tried
 * them all, so that no message is attempted by two senders at once.
 */
import type { Masker } from "../config/masker.js";
import type { AttemptOutcome, OutboxRow } from "../store/index.js";
import type { ChannelDocument, EmailChannel } from "./channels-file.js";
import { type Delivery, postWebhook, sendEmail } from "./deliver.js";
import { resolveChannel } from "./env.js";
import { type Facts, factsOf, headline, plainText, webhookBody } from "./message.js";
import { type OutboxSource, type OutboxStore, outboxStoreOf } from "./outbox-store.js";

export interface RetryPolicy {
  /** The first retry's delay; each next one doubles. Default 2 s. */
  baseMs: number;
  /** The longest delay. Default 10 min. */
  maxMs: number;
  /** Attempts before giving up. Default 10 (about 40 min of retries). */
  maxAttempts: number;
}

/** One attempt's timeout unless `SenderOptions.timeoutMs` says otherwise. */
const DEFAULT_TIMEOUT_MS = 10_000;

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 2000, maxMs: 600_000, maxAttempts: 10 };

/** The delay before attempt `attempts + 1` (attempts made so far >= 1): exponential, with jitter. */
export function backoffMs(attempts: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling * (0.75 + 0.25 * random()));
}

export interface SenderOptions {
  env: Readonly<Record<string, string | undefined>>;
  now?: () => Date;
  retry?: Partial<RetryPolicy>;
  /** One attempt's timeout. Default 10 s. */
  timeoutMs?: number;
  log?: (level: "info" | "warn" | "error", message: string, fields?: object) => void;
}

export interface PassResult {
  delivered: number;
  retrying: number;
  failed: number;
}

export class NotifySender {
  private readonly policy: RetryPolicy;
  private readonly now: () => Date;
  private readonly controller = new AbortController();
  private readonly outbox: OutboxStore;

  /** @param on where the outbox is: a DuckDB connection, a store of either backend, an `OutboxStore`. */
  constructor(
    on: OutboxSource,
    private readonly options: SenderOptions,
  ) {
    this.outbox = outboxStoreOf(on);
    this.policy = { ...DEFAULT_RETRY, ...options.retry };
    this.now = options.now ?? (() => new Date());
  }

  /** Stops attempts in flight (they are retried by the next process). */
  close(): void {
    this.controller.abort(new Error("the sender stopped"));
  }

  /** Delivers the messages due now, one at a time. */
  async pass(limit = 50): Promise<PassResult> {
    const result: PassResult = { delivered: 0, retrying: 0, failed: 0 };
    // Held (PostgreSQL) for as long as trying each message once may take, and a minute more.
    const holdMs = limit * (this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS) + 60_000;
    const { due, channels } = await this.outbox.due(this.now(), limit, holdMs);
    const byName = new Map(channels.map((c) => [c.name, c.definition as unknown as ChannelDocument]));
    for (const message of due) {
      if (this.controller.signal.aborted) break;
      const outcome = await this.attempt(message, byName.get(message.channel));
      await this.outbox.record(message.key, outcome, this.now());
      if (outcome.delivered) result.delivered++;
      else if ("giveUp" in outcome) result.failed++;
      else result.retrying++;
    }
    return result;
  }

  private async attempt(message: OutboxRow, channel: ChannelDocument | undefined): Promise<AttemptOutcome> {
    const attempts = message.attempts + 1;
    const fields = {
      key: message.key,
      channel: message.channel,
      ...(message.run_id ? { run_id: message.run_id } : {}),
    };
    if (!channel) {
      const error = `channel "${message.channel}" is no longer defined`;
      this.options.log?.("error", `notification ${message.key} not sent: ${error}`, fields);
      return { delivered: false, error, giveUp: true };
    }
    const facts = factsOf(message.event, message.facts, this.options.env);
    let delivery: Delivery;
    let masker: Masker | undefined;
    try {
      const r = resolveChannel(channel, this.options.env);
      masker = r.masker;
      delivery = await deliver(
        r.resolved,
        facts,
        message.key,
        this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        this.controller.signal,
      );
    } catch (err) {
      delivery = { ok: false, retry: true, error: err instanceof Error ? err.message : String(err) };
    }
    if (delivery.ok) {
      this.options.log?.("info", `notification ${message.key} delivered (attempt ${attempts})`, fields);
      return { delivered: true };
    }
    // Whatever the receiver said may quote the URL or the login: masked before it is kept.
    const error = masker ? masker.mask(delivery.error) : delivery.error;
    if (!delivery.retry || attempts >= this.policy.maxAttempts) {
      this.options.log?.(
        "error",
        `notification ${message.key} failed after ${attempts} attempt(s): ${error}`,
        fields,
      );
      return { delivered: false, error, giveUp: true };
    }
    const wait = Math.min(
      this.policy.maxMs,
      Math.max(delivery.retryAfterMs ?? 0, backoffMs(attempts, this.policy)),
    );
    this.options.log?.(
      "warn",
      `notification ${message.key}: attempt ${attempts} failed (${error}); next in ${Math.round(wait / 1000)} s`,
      fields,
    );
    return { delivered: false, error, retryAt: new Date(this.now().getTime() + wait) };
  }
}

/** One delivery of `facts` through a channel whose secrets are resolved. */
export function deliver(
  channel: ChannelDocument,
  facts: Facts,
  key: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Delivery> {
  if (channel.type === "email") {
    const prefix = (channel as EmailChannel).subject_prefix ?? "[tickflow]";
    return sendEmail({
      channel,
      subject: `${prefix} ${headline(facts)}`.trim(),
      text: plainText(facts),
      idempotencyKey: key,
      timeoutMs,
    });
  }
  const format = channel.type === "webhook" ? (channel.format ?? "json") : channel.type;
  return postWebhook({
    url: channel.url,
    headers: channel.type === "webhook" ? (channel.headers ?? {}) : {},
    body: webhookBody(format, facts),
    idempotencyKey: key,
    timeoutMs,
    ...(signal ? { signal } : {}),
  });
}
