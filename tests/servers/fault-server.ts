/**
 * A fault-injecting HTTP server for tests: on 127.0.0.1 with a random port, it answers each path from
 * a queue of scripted responses (JSON, statuses with headers, connection resets, stalls, truncated
 * JSON, HTML error pages) and records what it received.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type FaultResponse =
  /** A JSON body (serialised with JSON.stringify). */
  | { kind: "json"; body: unknown; status?: number; headers?: Record<string, string>; delayMs?: number }
  /** A status with optional headers and raw body (e.g. 429 + Retry-After). */
  | { kind: "status"; status: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  /** A raw text body with a content type of your choosing. */
  | { kind: "text"; body: string; status?: number; contentType?: string; delayMs?: number }
  /** An HTML error page with the given title. */
  | { kind: "html"; status?: number; title: string; bodyText?: string; delayMs?: number }
  /** A complete response whose body is cut-off JSON (valid framing, bad content). */
  | { kind: "truncated"; body?: unknown; keepChars?: number; status?: number; delayMs?: number }
  /** Destroys the socket without answering (the client sees a reset / closed socket). */
  | { kind: "reset"; afterHeaders?: boolean; delayMs?: number }
  /** Never answers (until the client gives up or the server closes), or answers after `ms`. */
  | { kind: "stall"; ms?: number; respond?: FaultResponse };

export type FaultHandler = (req: RecordedRequest) => FaultResponse;
export type FaultRoute = FaultResponse[] | FaultHandler;

export interface RecordedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  /** Path without query. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Index of the TCP connection (0-based) that carried the request. */
  connection: number;
}

export interface FaultServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly port: number;
  /** Requests received so far, in order. */
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Requests currently being handled. */
  readonly inFlight: number;
  /** Largest `inFlight` seen. */
  readonly maxInFlight: number;
  /** Appends responses to the queue of a path (path without query). */
  queue(path: string, ...responses: FaultResponse[]): void;
  /** Replaces the route of a path with a handler called for every request. */
  handle(path: string, handler: FaultHandler): void;
  /** Requests received for a path. */
  requestsTo(path: string): RecordedRequest[];
  /** Destroys open sockets and stops listening. */
  close(): Promise<void>;
}

const FALLBACK: FaultResponse = {
  kind: "json",
  status: 404,
  body: { status: "ERROR", error: "fault-server: no response queued for this path" },
};

export async function startFaultServer(routes: Record<string, FaultRoute> = {}): Promise<FaultServer> {
  const queues = new Map<string, FaultResponse[]>();
  const handlers = new Map<string, FaultHandler>();
  for (const [path, route] of Object.entries(routes)) {
    if (typeof route === "function") handlers.set(path, route);
    else queues.set(path, [...route]);
  }
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const socketIds = new WeakMap<Socket, number>();
  const timers = new Set<NodeJS.Timeout>();
  let connections = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let closing = false;

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const next = (req: RecordedRequest): FaultResponse => {
    const handler = handlers.get(req.path);
    if (handler) return handler(req);
    return queues.get(req.path)?.shift() ?? FALLBACK;
  };

  const respond = (res: ServerResponse, socket: Socket, fault: FaultResponse, done: () => void): void => {
    if (closing || socket.destroyed) {
      done();
      return;
    }
    if ("delayMs" in fault && fault.delayMs && fault.delayMs > 0) {
      const delay = fault.delayMs;
      later(delay, () => respond(res, socket, { ...fault, delayMs: 0 }, done));
      return;
    }
    const send = (status: number, headers: Record<string, string>, body: string): void => {
      const buf = Buffer.from(body, "utf8");
      res.writeHead(status, { ...headers, "content-length": String(buf.length) });
      res.end(buf, done);
    };
    switch (fault.kind) {
      case "json":
        send(
          fault.status ?? 200,
          { "content-type": "application/json", ...fault.headers },
          JSON.stringify(fault.body),
        );
        return;
      case "status":
        send(fault.status, { "content-type": "text/plain", ...fault.headers }, fault.body ?? "");
        return;
      case "text":
        send(fault.status ?? 200, { "content-type": fault.contentType ?? "text/plain" }, fault.body);
        return;
      case "html":
        send(
          fault.status ?? 502,
          { "content-type": "text/html; charset=utf-8" },
          `<!DOCTYPE html>\n<html><head><title>${fault.title}</title></head><body><h1>${fault.title}</h1><p>${fault.bodyText ?? "An error occurred."}</p></body></html>`,
        );
        return;
      case "truncated": {
        const full = JSON.stringify(
          fault.body ?? { results: [{ t: 1, o: 1, h: 2, l: 0.5, c: 1.5, v: 100 }] },
        );
        const keep = fault.keepChars ?? Math.floor(full.length / 2);
        send(fault.status ?? 200, { "content-type": "application/json" }, full.slice(0, keep));
        return;
      }
      case "reset":
        if (fault.afterHeaders) {
          res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
          res.write('{"results":[', () => {
            socket.destroy();
            done();
          });
        } else {
          socket.destroy();
          done();
        }
        return;
      case "stall":
        if (fault.ms !== undefined && fault.respond) {
          const after = fault.respond;
          later(fault.ms, () => respond(res, socket, after, done));
        } else {
          // Never answer: the request completes when the client drops the socket or the server closes.
          socket.once("close", done);
        }
        return;
    }
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? "/";
    const socket = req.socket;
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      url,
      path: url.split("?")[0] ?? url,
      headers: req.headers,
      connection: socketIds.get(socket) ?? -1,
    };
    requests.push(recorded);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      inFlight--;
      // A keep-alive socket carries many requests: a listener left per request would pile up.
      socket.off("close", done);
    };
    socket.once("close", done);
    req.resume();
    req.once("end", () => respond(res, socket, next(recorded), done));
  });
  server.keepAliveTimeout = 10_000;
  server.on("connection", (socket: Socket) => {
    socketIds.set(socket, connections++);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    get connections() {
      return connections;
    },
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    queue(path, ...responses) {
      handlers.delete(path);
      const q = queues.get(path) ?? [];
      q.push(...responses);
      queues.set(path, q);
    },
    handle(path, handler) {
      handlers.set(path, handler);
    },
    requestsTo(path) {
      return requests.filter((r) => r.path === path);
    },
    close() {
      closing = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
