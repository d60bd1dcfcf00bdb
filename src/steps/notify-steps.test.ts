/** notify.webhook and notify.email against real receivers on 127.0.0.1. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type SmtpSink,
  startSmtpSink,
  startWebhookReceiver,
  type WebhookReceiver,
} from "../notify/testing.js";
import { stepContext, tempStore } from "../store/testing.js";
import { notifyEmail } from "./notify-email.js";
import { notifyWebhook } from "./notify-webhook.js";

let receiver: WebhookReceiver;
let smtp: SmtpSink;
let store: Awaited<ReturnType<typeof tempStore>>;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
  smtp = await startSmtpSink();
  store = await tempStore();
});
afterAll(async () => {
  await receiver.close();
  await smtp.close();
  await store.cleanup();
});

describe("notify.webhook", () => {
  it("posts Slack's format, retrying a 503: status and attempts as outputs", async () => {
    receiver.script.push(503);
    const ctx = stepContext(store.store.db, { taskId: "tell" });
    const params = notifyWebhook.params.parse({
      url: receiver.url,
      format: "slack",
      message: "bars for 2025-07-07 are in",
      max_retries: 2,
    });
    expect(await notifyWebhook.run!(ctx, params)).toEqual({ status: 200, attempts: 2 });
    expect(receiver.requests.map((r) => r.status)).toEqual([503, 200]);
    expect(receiver.requests[1]!.body).toEqual({
      text: "bars for 2025-07-07 are in",
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "bars for 2025-07-07 are in" } }],
    });
    expect(receiver.requests[1]!.headers["idempotency-key"]).toBe("run-test:tell");
  });

  it("fails at once on a 400, naming the status", async () => {
    receiver.requests.length = 0;
    receiver.script.push(400);
    const ctx = stepContext(store.store.db);
    const params = notifyWebhook.params.parse({ url: receiver.url, body: { a: 1 } });
    await expect(notifyWebhook.run!(ctx, params)).rejects.toThrow(/after 1 attempt\(s\): HTTP 400/);
    expect(receiver.requests[0]!.body).toEqual({ a: 1 });
  });
});

describe("notify.email", () => {
  it("sends through SMTP with the login", async () => {
    const ctx = stepContext(store.store.db);
    const params = notifyEmail.params.parse({
      to: ["ops@example.com"],
      from: "tickflow@example.com",
      subject: "daily report",
      text: "all good",
      smtp: { host: "127.0.0.1", port: smtp.port, tls: "none" },
      user: "u1",
      password: "p1-secret",
    });
    const out = await notifyEmail.run!(ctx, params);
    expect(out.attempts).toBe(1);
    expect(String(out.status)).toMatch(/^250/);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.user).toBe("u1");
    expect(smtp.mails[0]!.data).toContain("Subject: daily report");
    expect(smtp.mails[0]!.data).toContain("all good");
  });
});
