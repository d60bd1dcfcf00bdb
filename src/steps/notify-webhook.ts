import { z } from "zod";
import { postWebhook } from "../notify/deliver.js";
import { teamsCard } from "../notify/message.js";
import { defineStep } from "../pipeline/step-spec.js";
import { realSleep } from "../sources/http/rate-limiter.js";

/** The body of a message in a webhook format: JSON as given, Slack's text and blocks, a Teams card. */
export function stepWebhookBody(
  format: "json" | "slack" | "teams",
  message: string,
  body?: unknown,
): unknown {
  if (format === "slack")
    return {
      text: message,
      blocks: [{ type: "section", text: { type: "mrkdwn", text: message.slice(0, 3000) } }],
    };
  if (format === "teams") {
    const [title = "", ...lines] = message.split("\n");
    return teamsCard({ title, lines: lines.filter((l) => l.trim() !== "") });
  }
  return body ?? { text: message };
}

export const notifyWebhook = defineStep({
  name: "notify.webhook",
  summary: "POST a JSON message to a webhook (json, Slack or Teams format), with retries.",
  params: z.strictObject({
    url: z.string().describe('The webhook URL, written "${{ env.NAME }}" (a webhook URL is a credential).'),
    format: z
      .enum(["json", "slack", "teams"])
      .default("json")
      .describe(
        "Body format: json (`body`, or {text: message}), slack ({text, blocks}) or teams (an Adaptive Card, as Teams' Workflows webhooks take). Default json.",
      ),
    message: z
      .string()
      .default("")
      .describe("The message text; expressions such as ${{ run.date }} are rendered into it."),
    body: z
      .record(z.string(), z.unknown().describe("A field of the JSON body."))
      .optional()
      .describe(
        "The JSON body for format json (a template: expressions are rendered); default {text: message}.",
      ),
    headers: z
      .record(z.string(), z.string().describe("A header value; secrets as ${{ env.NAME }}."))
      .default({})
      .describe("Extra request headers."),
    max_retries: z
      .int()
      .min(0)
      .max(10)
      .default(3)
      .describe(
        "Retries on 429, 5xx, resets and timeouts, with exponential backoff (1 s, 2 s, 4 s...). Default 3.",
      ),
    timeout: z.int().min(1).max(300).default(10).describe("Seconds one attempt may take. Default 10."),
  }),
  outputs: {
    status: { type: "integer", description: "The HTTP status of the last attempt (0: no answer)." },
    attempts: { type: "integer", description: "Attempts made." },
  },
  secrets: ["url"],
  async run(ctx, params) {
    const body = stepWebhookBody(params.format, params.message, params.body);
    for (let attempt = 1; ; attempt++) {
      const result = await postWebhook({
        url: params.url,
        headers: params.headers,
        body,
        idempotencyKey: `${ctx.runId}:${ctx.taskId}`,
        timeoutMs: params.timeout * 1000,
        signal: ctx.signal,
      });
      const status = result.ok ? (result.status ?? 200) : (result.status ?? 0);
      if (result.ok) return { status, attempts: attempt };
      if (!result.retry || attempt > params.max_retries) {
        throw new Error(`webhook refused the message after ${attempt} attempt(s): ${result.error}`);
      }
      const wait = Math.max(result.retryAfterMs ?? 0, 1000 * 2 ** (attempt - 1));
      ctx.log("warn", `webhook attempt ${attempt} failed (${result.error}); retrying in ${wait / 1000} s`);
      await realSleep(wait, ctx.signal);
    }
  },
});
