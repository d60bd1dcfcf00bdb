import { z } from "zod";
import { smtpServerShape } from "../notify/channels-file.js";
import { sendEmail } from "../notify/deliver.js";
import { defineStep } from "../pipeline/step-spec.js";
import { realSleep } from "../sources/http/rate-limiter.js";

export const notifyEmail = defineStep({
  name: "notify.email",
  summary: "Send an email through SMTP (STARTTLS, implicit TLS or plain), with retries.",
  params: z.strictObject({
    to: z.array(z.string().describe("An email address.")).min(1).describe("Recipients."),
    from: z.string().describe("The sender's address."),
    subject: z.string().describe("The subject; expressions such as ${{ run.date }} are rendered into it."),
    text: z.string().describe("The plain-text body; expressions are rendered into it."),
    smtp: z.strictObject(smtpServerShape).describe("The SMTP server."),
    user: z.string().optional().describe('SMTP user name, written "${{ env.NAME }}".'),
    password: z.string().optional().describe('SMTP password, written "${{ env.NAME }}".'),
    max_retries: z
      .int()
      .min(0)
      .max(10)
      .default(3)
      .describe("Retries on connection trouble and SMTP 4xx replies, with exponential backoff. Default 3."),
    timeout: z.int().min(1).max(300).default(30).describe("Seconds one attempt may take. Default 30."),
  }),
  outputs: {
    status: { type: "string", description: "The SMTP server's last reply (e.g. 250 OK)." },
    attempts: { type: "integer", description: "Attempts made." },
  },
  secrets: ["user", "password"],
  async run(ctx, params) {
    for (let attempt = 1; ; attempt++) {
      const result = await sendEmail({
        channel: {
          type: "email",
          to: params.to,
          from: params.from,
          smtp: {
            ...params.smtp,
            ...(params.user !== undefined ? { user: params.user, password: params.password ?? "" } : {}),
          },
        },
        subject: params.subject,
        text: params.text,
        idempotencyKey: `${ctx.runId}:${ctx.taskId}`,
        timeoutMs: params.timeout * 1000,
      });
      if (result.ok) return { status: result.detail ?? "", attempts: attempt };
      if (!result.retry || attempt > params.max_retries)
        throw new Error(`email not sent after ${attempt} attempt(s): ${result.error}`);
      const wait = 1000 * 2 ** (attempt - 1);
      ctx.log("warn", `email attempt ${attempt} failed (${result.error}); retrying in ${wait / 1000} s`);
      await realSleep(wait, ctx.signal);
    }
  },
});
