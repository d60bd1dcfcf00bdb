/**
 * Real receivers on 127.0.0.1 for tests (no mocks): a webhook receiver (node:http) that answers
 * with scripted statuses, and an SMTP sink (smtp-server) that keeps each message.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  status: number;
}

export interface WebhookReceiver {
  url: string;
  /** Every request, answered or not. */
  requests: Received[];
  /** Statuses to answer, in turn; 200 once they run out. */
  script: number[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(port = 0): Promise<WebhookReceiver> {
  const receiver: Omit<WebhookReceiver, "url" | "close"> = { requests: [], script: [] };
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (d: Buffer) => {
      text += d;
    });
    req.on("end", () => {
      const status = receiver.script.shift() ?? 200;
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {}
      receiver.requests.push({ path: req.url ?? "", headers: req.headers, body, status });
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status < 300 ? "ok" : `refused with ${status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: bound } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${bound}/hook`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

export interface Mail {
  from: string;
  to: string[];
  data: string;
  user?: string;
}

export interface SmtpSink {
  port: number;
  mails: Mail[];
  close(): Promise<void>;
}

/** An SMTP server on 127.0.0.1 that accepts any login (recorded) and keeps each message. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    authOptional: true,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      let data = "";
      stream.on("data", (d: Buffer) => {
        data += d;
      });
      stream.on("end", () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          data,
          ...(typeof session.user === "string" ? { user: session.user } : {}),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
