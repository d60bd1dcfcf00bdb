/**
 * The notification parts of a deployments file (SPEC section 11): named `channels`,
 * `notifications` rules on run states and quality errors, and `freshness` rules. zod is the single
 * source of truth: it parses the file and generates `schemas/deployments.schema.json`.
 */
import { z } from "zod";

/** Run states a rule can be `on`, plus Recovered: the first Completed run after a Failed/Crashed one. */
export const NOTIFY_STATES = ["Failed", "Crashed", "Late", "Cancelled", "Recovered"] as const;
export type NotifyState = (typeof NOTIFY_STATES)[number];

/** Every event an outbox row can carry: a run state above, a quality error, stale data. */
export const NOTIFY_EVENTS = [...NOTIFY_STATES, "Quality", "Stale", "Test"] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

export const CHANNEL_TYPES = ["webhook", "slack", "teams", "email"] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export const WEBHOOK_FORMATS = ["json", "slack", "teams"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export const SMTP_TLS = ["starttls", "tls", "none"] as const;

const secretUrl = z
  .string()
  .min(1)
  .describe(
    'The webhook URL, written "${{ env.NAME }}": a webhook URL is a credential, read from the environment when a message is sent.',
  );

const webhookChannel = z
  .strictObject({
    type: z
      .literal("webhook")
      .describe("A JSON POST of {event, deployment, run_id, state, logical_date, task, error, url}."),
    url: secretUrl,
    format: z
      .enum(WEBHOOK_FORMATS)
      .optional()
      .describe("Body format: json (default), slack (text and blocks) or teams (an Adaptive Card)."),
    headers: z
      .record(z.string(), z.string().describe("A header value; may contain ${{ env.NAME }}."))
      .optional()
      .describe("Extra request headers; secret values as ${{ env.NAME }}."),
  })
  .describe("A webhook receiving JSON.");

const slackChannel = z
  .strictObject({
    type: z.literal("slack").describe('A Slack incoming webhook ({"text", "blocks"}).'),
    url: secretUrl,
  })
  .describe("A Slack incoming webhook.");

const teamsChannel = z
  .strictObject({
    type: z.literal("teams").describe("A Microsoft Teams Workflows webhook (an Adaptive Card in a message)."),
    url: secretUrl,
  })
  .describe("A Microsoft Teams incoming webhook.");

/** Where an SMTP server is and how to reach it: shared by email channels and the notify.email step. */
export const smtpServerShape = {
  host: z.string().min(1).describe("The SMTP server's host name."),
  port: z
    .int()
    .min(1)
    .max(65535)
    .optional()
    .describe("Port (default 587 for starttls, 465 for tls, 25 for none)."),
  tls: z
    .enum(SMTP_TLS)
    .optional()
    .describe(
      "starttls (default: upgrade a plain connection, required), tls (implicit TLS) or none (plain text; loopback only).",
    ),
};

const emailChannel = z
  .strictObject({
    type: z.literal("email").describe("Email through an SMTP server."),
    to: z.array(z.string().describe("An email address.")).min(1).describe("Recipients."),
    from: z.string().describe("The sender's address."),
    subject_prefix: z.string().optional().describe('Text before each subject (default "[tickflow]").'),
    smtp: z
      .strictObject({
        ...smtpServerShape,
        user: z.string().optional().describe('User name, written "${{ env.NAME }}".'),
        password: z.string().optional().describe('Password, written "${{ env.NAME }}".'),
      })
      .describe("The SMTP server."),
  })
  .describe("Email to a list of addresses.");

export const channelDocument = z
  .discriminatedUnion("type", [webhookChannel, slackChannel, teamsChannel, emailChannel])
  .describe("A place messages go: webhook, slack, teams or email.");
export type ChannelDocument = z.output<typeof channelDocument>;
export type EmailChannel = z.output<typeof emailChannel>;

export const channelsDocument = z
  .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/), channelDocument)
  .describe("Named notification channels; secrets come from the environment (${{ env.NAME }}).");

const channelNames = z
  .array(z.string().describe("The name of a channel in `channels`."))
  .min(1)
  .describe("Channels the message goes to.");

export const notificationRule = z
  .strictObject({
    on: z
      .array(z.enum(NOTIFY_STATES).describe("A run state, or Recovered (the first success after a failure)."))
      .min(1)
      .optional()
      .describe("Run states that send a message: Failed, Crashed, Late, Cancelled, Recovered."),
    on_quality: z
      .enum(["error"])
      .optional()
      .describe("error: send when validate.ohlcv found errors in the run."),
    deployments: z
      .array(z.string().describe("A deployment name of this file."))
      .optional()
      .describe("Deployments the rule covers (default: every deployment)."),
    to: channelNames,
  })
  .describe("When to send a message, and where: on run states and/or quality errors.");
export type NotificationRule = z.output<typeof notificationRule>;

export const freshnessRule = z
  .strictObject({
    source: z.string().min(1).describe("bars_daily.source whose bars are watched, e.g. polygon."),
    by: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be HH:MM")
      .describe('Deadline on each session day, "HH:MM" local time in `timezone`, e.g. "18:30".'),
    timezone: z.string().optional().describe("IANA time zone of `by` (default America/New_York)."),
    calendar: z
      .enum(["XNYS"])
      .optional()
      .describe("Sessions that are due (default XNYS: NYSE sessions; no alert on holidays)."),
    to: channelNames,
  })
  .describe("Bars of `source` for the latest session due must be in bars_daily by `by`.");
export type FreshnessRule = z.output<typeof freshnessRule>;

/** The fields the deployments file gains (spread into its object). */
export const notifyShape = {
  channels: channelsDocument.optional(),
  notifications: z
    .array(notificationRule)
    .optional()
    .describe("Notification rules: on what, to which channels."),
  freshness: z.array(freshnessRule).optional().describe("Data freshness rules: bars present by a deadline."),
};
