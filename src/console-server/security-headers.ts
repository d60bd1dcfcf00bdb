/**
 * Headers on every answer of the daemon's port (console and API): the console's own files only
 * (no inline script or style, no other origin, never framed), no content-type guessing, and no
 * URL (with a run id or a symbol) sent to another site.
 */
import type { MiddlewareHandler } from "hono";

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; object-src 'none'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/** Sets `SECURITY_HEADERS` on the answer, whichever handler made it. */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
};
