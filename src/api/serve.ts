/**
 * The API on a port: node:http through `@hono/node-server`. Bound to anything but loopback it
 * refuses to start without a token.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import type { Hono } from "hono";

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

/**
 * Whether a request's `Host` header names this daemon: its bind address, `localhost`, `127.0.0.1`
 * or `[::1]` (loopback binds), or a name listed in `TICKFLOW_API_HOSTS`, on its port (a listed name
 * may also come without one, behind a proxy). Refusing the rest stops DNS rebinding: a web page
 * whose name now points at 127.0.0.1 still sends its own name. Bound to every address (with a
 * token, which a browser never sends by itself), any host will do.
 */
export function isOwnHost(
  host: string | undefined,
  bind: { host: string; port: number; names: readonly string[] },
): boolean {
  if (bind.host === "0.0.0.0" || bind.host === "::") return true;
  if (host === undefined) return false;
  const wanted = host.toLowerCase();
  const names = [...bind.names, bind.host.includes(":") ? `[${bind.host}]` : bind.host];
  if (isLoopback(bind.host)) names.push("localhost", "127.0.0.1", "[::1]");
  return names.some(
    (name) => wanted === `${name}:${bind.port}` || (bind.names.includes(name) && wanted === name),
  );
}

export interface ServedApi {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function serveApi(
  app: Hono,
  options: { host: string; port: number; token: string | undefined },
): Promise<ServedApi> {
  checkApiBinding(options.host, options.token);
  // Node's own Request and Response stay as they are (the vendor clients and fetch use them).
  const server = createServer(getRequestListener(app.fetch, { overrideGlobalObjects: false }));
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
