/**
 * What a message says, and its bodies: the JSON webhook body, Slack's `{text, blocks}`, a Teams
 * Adaptive Card, an email's subject and text. The facts come from the outbox row (no secrets).
 */
import type { WebhookFormat } from "./channels-file.js";

export const DEFAULT_PUBLIC_URL = "http://127.0.0.1:4200";

/** An event's facts, as the outbox keeps them. */
export interface Facts {
  event: string;
  deployment: string | null;
  run_id: string | null;
  state: string | null;
  logical_date: string | null;
  task: string | null;
  error: string | null;
  /** The console's page of the run (or of the runs, for freshness). */
  url: string;
  /** Quality errors' counts by check (event Quality). */
  quality?: Record<string, number>;
  /** Freshness (events Stale, and Recovered of a source): source, session, deadline. */
  source?: string;
  session?: string;
  deadline?: string;
}

/** The console's base URL: TICKFLOW_PUBLIC_URL without a trailing slash, default 127.0.0.1:4200. */
export function publicUrl(env: Readonly<Record<string, string | undefined>>): string {
  return (env.TICKFLOW_PUBLIC_URL || DEFAULT_PUBLIC_URL).replace(/\/+$/, "");
}

/** The facts of an outbox row: what it stored, the event and the run's console link. */
export function factsOf(
  event: string,
  stored: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
): Facts {
  const text = (k: string) => (typeof stored[k] === "string" ? (stored[k] as string) : null);
  const runId = text("run_id");
  const base = publicUrl(env);
  const facts: Facts = {
    event,
    deployment: text("deployment"),
    run_id: runId,
    state: text("state"),
    logical_date: text("logical_date"),
    task: text("task"),
    error: text("error"),
    url: runId ? `${base}/runs/${encodeURIComponent(runId)}` : `${base}/runs`,
  };
  const quality = stored.quality;
  if (quality && typeof quality === "object") facts.quality = quality as Record<string, number>;
  for (const k of ["source", "session", "deadline"] as const) {
    const v = text(k);
    if (v !== null) facts[k] = v;
  }
  return facts;
}

/** One line: what happened. */
export function headline(f: Facts): string {
  switch (f.event) {
    case "Stale":
      return `Stale data: ${f.source} bars for ${f.session} not in by ${f.deadline}`;
    case "Quality":
      return `Quality errors in ${f.deployment} (${f.logical_date ?? "no date"})`;
    case "Recovered":
      return f.run_id
        ? `Recovered: ${f.deployment} Completed (${f.logical_date ?? "no date"})`
        : `Recovered: ${f.source} bars for ${f.session} are in`;
    case "Test":
      return `Test message from tickflow${f.deployment ? ` (${f.deployment})` : ""}`;
    default:
      return `${f.deployment} ${f.state ?? f.event} (${f.logical_date ?? "no date"})`;
  }
}

/** The lines below the headline: the failing task and error, quality counts, the link. */
export function detailLines(f: Facts): string[] {
  const lines: string[] = [];
  if (f.deployment) lines.push(`Deployment: ${f.deployment}`);
  if (f.state) lines.push(`State: ${f.state}`);
  if (f.logical_date) lines.push(`Logical date: ${f.logical_date}`);
  if (f.task) lines.push(`Task: ${f.task}`);
  if (f.error && f.event !== "Recovered") lines.push(`Error: ${f.error}`);
  if (f.quality) {
    const counts = Object.entries(f.quality)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([check, n]) => `${check}: ${n}`);
    lines.push(`Quality errors by check: ${counts.join(", ")}`);
  }
  if (f.source) lines.push(`Source: ${f.source}`);
  if (f.session) lines.push(`Session: ${f.session}`);
  if (f.deadline) lines.push(`Deadline: ${f.deadline}`);
  lines.push(`Run: ${f.url}`);
  return lines;
}

/** The message as plain text (email, logs of `notify test`). */
export function plainText(f: Facts): string {
  return [headline(f), "", ...detailLines(f)].join("\n");
}

/** The webhook body in a format. */
export function webhookBody(format: WebhookFormat, f: Facts): unknown {
  if (format === "slack") return slackBody(f);
  if (format === "teams") return teamsBody(f);
  return {
    event: f.event,
    deployment: f.deployment,
    run_id: f.run_id,
    state: f.state,
    logical_date: f.logical_date,
    task: f.task,
    error: f.error,
    url: f.url,
    ...(f.quality ? { quality: f.quality } : {}),
    ...(f.source ? { source: f.source, session: f.session, deadline: f.deadline } : {}),
  };
}

/** Slack's mrkdwn needs &, < and > escaped. */
function slackEscape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function slackBody(f: Facts) {
  const details = detailLines(f)
    .filter((l) => !l.startsWith("Run: "))
    .map(slackEscape);
  return {
    text: `${slackEscape(headline(f))}: ${f.url}`,
    blocks: [
      { type: "header", text: { type: "plain_text", text: headline(f).slice(0, 150) } },
      { type: "section", text: { type: "mrkdwn", text: details.join("\n").slice(0, 3000) || " " } },
      { type: "section", text: { type: "mrkdwn", text: `<${f.url}|Open the run>` } },
    ],
  };
}

/** The headline's colour in an Adaptive Card (its named colours). */
const CARD_COLORS: Record<string, string> = { Recovered: "Good", Test: "Accent", Late: "Warning" };

/**
 * A Teams message: an Adaptive Card in the message envelope that Teams' Workflows webhooks take
 * (the Office 365 connectors that took MessageCards are retired). Text goes in TextBlocks, which
 * render a little markdown but no HTML.
 */
export function teamsCard(options: {
  title: string;
  lines: string[];
  color?: string;
  link?: { title: string; url: string };
}) {
  return {
    type: "message",
    attachments: [
      {
        contentType: "application/vnd.microsoft.card.adaptive",
        contentUrl: null,
        content: {
          $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
          type: "AdaptiveCard",
          version: "1.4",
          body: [
            {
              type: "TextBlock",
              text: options.title,
              weight: "Bolder",
              size: "Medium",
              wrap: true,
              ...(options.color ? { color: options.color } : {}),
            },
            ...options.lines.map((text) => ({ type: "TextBlock", text, wrap: true })),
          ],
          ...(options.link ? { actions: [{ type: "Action.OpenUrl", ...options.link }] } : {}),
        },
      },
    ],
  };
}

function teamsBody(f: Facts) {
  return teamsCard({
    title: headline(f),
    lines: detailLines(f).filter((l) => !l.startsWith("Run: ")),
    color: CARD_COLORS[f.event] ?? "Attention",
    link: { title: "Open the run", url: f.url },
  });
}
