/**
 * Everything on the daemon's port (and `tickflow ui`'s) as one Hono app: `/api/*` and `/metrics`
 * go to the API app as they are (its Host check, bearer token, origin and body rules); the rest is
 * the console: the app shell for the client routes of SPEC section 10, the built files by name,
 * 404 for anything else. The console's files need no token (they hold no data: the page asks for
 * the token and sends it on its `/api` calls); the Host check applies to them too. Every answer
 * carries the security headers.
 */
import { Hono } from "hono";
import { foreignHost } from "../api/app.js";
import { isClientRoute } from "./client-routes.js";
import { type ConsoleFiles, consolePath, SHELL } from "./files.js";
import { securityHeaders } from "./security-headers.js";
import { IMMUTABLE, REVALIDATE, staticFiles } from "./static-file.js";

export interface ConsoleAppOptions {
  /** The API (`createApi`): answers `/api`, `/api/*` and `/metrics`. */
  api: Hono;
  files: ConsoleFiles;
  /** Whether a `Host` header names this server (`isOwnHost`); absent: any will do (tests). */
  ownHost?: (host: string | undefined) => boolean;
}

/** Paths the API answers. */
export function isApiPath(path: string): boolean {
  return path === "/api" || path.startsWith("/api/") || path === "/metrics";
}

export function createConsoleApp(options: ConsoleAppOptions): Hono {
  const { api, files } = options;
  const serveFile = staticFiles(files);
  const app = new Hono();
  app.use(securityHeaders);
  app.all("*", async (c, next) => {
    if (isApiPath(c.req.path)) return api.fetch(c.req.raw, c.env);
    const foreign = foreignHost(c, options.ownHost);
    if (foreign) return foreign;
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      return c.json({ error: `${c.req.method} is not allowed here (allowed: GET, HEAD)` }, 405, {
        Allow: "GET, HEAD",
      });
    }
    await next();
  });
  app.get("*", (c) => {
    const path = c.req.path;
    if (isClientRoute(path)) {
      return (
        serveFile(c, SHELL, REVALIDATE) ??
        c.json(
          { error: `the console is not built: no ${SHELL} in ${files.origin} (npm run build:console)` },
          503,
        )
      );
    }
    const file = consolePath(path);
    const answer =
      file === undefined
        ? undefined
        : serveFile(c, file, file.startsWith("assets/") ? IMMUTABLE : REVALIDATE);
    if (answer) return answer;
    // Browsers ask for it whatever the page says: no icon in the build is no content, not an error.
    if (path === "/favicon.ico") return c.body(null, 204, { "Cache-Control": "public, max-age=86400" });
    return c.json({ error: `no page ${path}` }, 404);
  });
  return app;
}
