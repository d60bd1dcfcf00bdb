/**
 * One attempt at delivering a message: a webhook POST (undici) or an email (nodemailer). The
 * outcome says whether to try again: 2xx delivered; 429 and 5xx, resets and timeouts retried;
 * another 4xx (or an SMTP 5xx reply) fails at once. Nothing here retries: the outbox does, durably.
 */
import nodemailer from "nodemailer";
import { request } from "undici";
import { parseRetryAfter } from "../sources/http/client.js";
import type { EmailChannel } from "./channels-file.js";

export type Delivery =
  | { ok: true; detail?: string; status?: number }
  | { ok: false; retry: boolean; error: string; retryAfterMs?: number; status?: number };

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: unknown;
  /** Sent as the Idempotency-Key header: receivers drop a message they already have. */
  idempotencyKey: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export async function postWebhook(req: WebhookRequest): Promise<Delivery> {
  try {
    const res = await request(req.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "tickflow",
        ...req.headers,
        "idempotency-key": req.idempotencyKey,
      },
      body: JSON.stringify(req.body),
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    const text = (await res.body.text()).slice(0, 300).trim();
    if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, status: res.statusCode };
    const error = `HTTP ${res.statusCode}${text ? `: ${text}` : ""}`;
    if (res.statusCode === 429) {
      const header = res.headers["retry-after"];
      const after = parseRetryAfter(Array.isArray(header) ? header[0] : header);
      const status = res.statusCode;
      return {
        ok: false,
        retry: true,
        error,
        status,
        ...(after !== undefined ? { retryAfterMs: after } : {}),
      };
    }
    return {
      ok: false,
      retry: res.statusCode >= 500 || res.statusCode === 408,
      error,
      status: res.statusCode,
    };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { ok: false, retry: true, error: `${e.code ? `${e.code}: ` : ""}${e.message ?? String(err)}` };
  }
}

export interface EmailRequest {
  /** The channel with its secrets resolved. */
  channel: EmailChannel;
  subject: string;
  text: string;
  /** A Message-ID derived from the idempotency key: mail systems drop a duplicate. */
  idempotencyKey: string;
  timeoutMs: number;
}

export async function sendEmail(req: EmailRequest): Promise<Delivery> {
  const { smtp } = req.channel;
  const tls = smtp.tls ?? "starttls";
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port ?? (tls === "tls" ? 465 : tls === "starttls" ? 587 : 25),
    secure: tls === "tls",
    requireTLS: tls === "starttls",
    ignoreTLS: tls === "none",
    ...(smtp.user !== undefined ? { auth: { user: smtp.user, pass: smtp.password ?? "" } } : {}),
    connectionTimeout: req.timeoutMs,
    greetingTimeout: req.timeoutMs,
    socketTimeout: req.timeoutMs,
  });
  try {
    const domain = /@([^>\s]+)>?$/.exec(req.channel.from)?.[1] ?? "tickflow.invalid";
    const info = await transport.sendMail({
      from: req.channel.from,
      to: req.channel.to,
      subject: req.subject,
      text: req.text,
      messageId: `<${req.idempotencyKey.replace(/[^A-Za-z0-9._-]/g, ".")}@${domain}>`,
      headers: { "X-Tickflow-Idempotency-Key": req.idempotencyKey },
    });
    return { ok: true, detail: String(info.response ?? "") };
  } catch (err) {
    const e = err as { responseCode?: number; code?: string; message?: string };
    const error = `${e.code ? `${e.code}: ` : ""}${e.message ?? String(err)}`;
    // SMTP 5xx replies are permanent (bad address, refused login); 4xx and connection trouble pass.
    const permanent = e.responseCode !== undefined && e.responseCode >= 500;
    return { ok: false, retry: !permanent, error };
  } finally {
    transport.close();
  }
}
