/**
 * The daemon's HTTP API (JSON; SPEC section 7) on node:http. Bound to anything but loopback it
 * requires a bearer token; with a token set, every request without it gets 401.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ApiHandlers {
  health(): Promise<Record<string, unknown>>;
  deployments(): Promise<unknown[]>;
  createRun(deployment: string, parameters: Record<string, unknown>): Promise<{ id: string } | undefined>;
  backfill(deployment: string, body: Record<string, unknown>): Promise<unknown | undefined>;
  runs(query: URLSearchParams): Promise<unknown[]>;
  run(id: string): Promise<Record<string, unknown> | undefined>;
  logs(id: string, query: URLSearchParams): Promise<unknown[] | undefined>;
  cancel(id: string): Promise<{ state: string } | undefined>;
  metrics(): Promise<string>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/** Whether `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\./.test(host);
}

/** Throws when the API would be reachable from other machines without a token. */
export function checkApiBinding(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    throw new Error(
      `refusing to serve the API on ${host} without TICKFLOW_API_TOKEN: set a token (clients send it as "Authorization: Bearer <token>") or bind to 127.0.0.1`,
    );
  }
}

function authorised(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const header = req.headers.authorization ?? "";
  const given = Buffer.from(header.startsWith("Bearer ") ? header.slice(7).trim() : "");
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1 << 20) throw new ApiError(413, "request body over 1 MiB");
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, "request body is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ApiError(400, "request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown, type = "application/json"): void {
  const text = type === "application/json" ? `${JSON.stringify(body)}\n` : String(body);
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text) }).end(text);
}

export async function startApi(
  handlers: ApiHandlers,
  options: { host: string; port: number; token: string | undefined; onError: (message: string) => void },
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  checkApiBinding(options.host, options.token);
  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (err instanceof ApiError) send(res, err.status, { error: err.message });
      else {
        options.onError(`API ${req.method} ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
        send(res, 500, { error: "internal error" });
      }
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!authorised(req, options.token)) {
      res.setHeader("www-authenticate", "Bearer");
      send(res, 401, { error: "missing or wrong bearer token" });
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? "GET";
    const is = (m: string, ...shape: (string | null)[]) =>
      method === m && parts.length === shape.length && shape.every((s, i) => s === null || s === parts[i]);

    if (is("GET", "metrics")) return send(res, 200, await handlers.metrics(), "text/plain; version=0.0.4");
    if (is("GET", "api", "health")) return send(res, 200, await handlers.health());
    if (is("GET", "api", "deployments")) return send(res, 200, await handlers.deployments());
    if (is("POST", "api", "deployments", null, "runs")) {
      const body = await readJson(req);
      const parameters = body.parameters ?? {};
      if (typeof parameters !== "object" || parameters === null || Array.isArray(parameters)) {
        throw new ApiError(400, '"parameters" must be an object');
      }
      const made = await handlers.createRun(parts[2]!, parameters as Record<string, unknown>);
      if (!made) throw new ApiError(404, `no deployment named ${JSON.stringify(parts[2])}`);
      return send(res, 201, made);
    }
    if (is("POST", "api", "deployments", null, "backfill")) {
      const made = await handlers.backfill(parts[2]!, await readJson(req));
      if (!made) throw new ApiError(404, `no deployment named ${JSON.stringify(parts[2])}`);
      return send(res, 201, made);
    }
    if (is("GET", "api", "runs")) return send(res, 200, await handlers.runs(url.searchParams));
    if (is("GET", "api", "runs", null)) {
      const run = await handlers.run(parts[2]!);
      if (!run) throw new ApiError(404, `no run ${JSON.stringify(parts[2])}`);
      return send(res, 200, run);
    }
    if (is("GET", "api", "runs", null, "logs")) {
      const logs = await handlers.logs(parts[2]!, url.searchParams);
      if (!logs) throw new ApiError(404, `no run ${JSON.stringify(parts[2])}`);
      return send(res, 200, logs);
    }
    if (is("POST", "api", "runs", null, "cancel")) {
      const result = await handlers.cancel(parts[2]!);
      if (!result) throw new ApiError(404, `no run ${JSON.stringify(parts[2])}`);
      return send(res, 202, result);
    }
    throw new ApiError(404, `no route ${method} ${url.pathname}`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
