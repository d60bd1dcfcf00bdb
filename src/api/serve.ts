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
