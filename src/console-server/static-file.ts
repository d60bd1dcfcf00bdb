/**
 * One console file as an HTTP answer: its content type, a cache policy, a strong ETag (a 304 for
 * a matching `If-None-Match`) and gzip for text when the client takes it. Each file is prepared
 * once per version (hashed, gzipped) and kept: the console is a few hundred KB.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { Context } from "hono";
import { compressible, contentType } from "./content-types.js";
import type { ConsoleFiles } from "./files.js";

/** Hashed build outputs never change under their name; everything else is checked each time. */
export const IMMUTABLE = "public, max-age=31536000, immutable";
export const REVALIDATE = "no-cache";

/** Smaller files are sent as they are (gzip would save less than its header costs). */
const GZIP_FROM_BYTES = 1024;

interface Prepared {
  version: string;
  type: string;
  etag: string;
  bytes: Uint8Array<ArrayBuffer>;
  gzipped: Uint8Array<ArrayBuffer> | undefined;
}

/** Serves files of `files`, preparing each once per version. */
export function staticFiles(files: ConsoleFiles) {
  const cache = new Map<string, Prepared>();

  const prepare = (path: string): Prepared | undefined => {
    const file = files.read(path);
    if (file === undefined) {
      cache.delete(path);
      return undefined;
    }
    const known = cache.get(path);
    if (known?.version === file.version) return known;
    const type = contentType(path);
    const gzipped =
      compressible(type) && file.bytes.length >= GZIP_FROM_BYTES ? gzipSync(file.bytes) : undefined;
    const prepared: Prepared = {
      version: file.version,
      type,
      etag: `"${createHash("sha256").update(file.bytes).digest("base64url").slice(0, 27)}"`,
      bytes: new Uint8Array(file.bytes),
      gzipped:
        gzipped !== undefined && gzipped.length < file.bytes.length ? new Uint8Array(gzipped) : undefined,
    };
    cache.set(path, prepared);
    return prepared;
  };

  /** The answer for file `path` (from `consolePath`), or undefined when there is no such file. */
  return (c: Context, path: string, cacheControl: string): Response | undefined => {
    const file = prepare(path);
    if (file === undefined) return undefined;
    const headers: Record<string, string> = {
      "Content-Type": file.type,
      "Cache-Control": cacheControl,
      ETag: file.etag,
    };
    if (file.gzipped) headers.Vary = "Accept-Encoding";
    if (matches(c.req.header("if-none-match"), file.etag)) return c.body(null, 304, headers);
    const gzip = file.gzipped !== undefined && acceptsGzip(c.req.header("accept-encoding"));
    const bytes = gzip ? file.gzipped! : file.bytes;
    if (gzip) headers["Content-Encoding"] = "gzip";
    headers["Content-Length"] = String(bytes.length);
    return c.body(bytes, 200, headers);
  };
}

/** `If-None-Match: "a", "b"` or `*` naming `etag` (weak ones compared weakly, RFC 9110 13.1.2). */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

/** `Accept-Encoding` taking gzip (not with `q=0`). */
function acceptsGzip(header: string | undefined): boolean {
  return (header ?? "").split(",").some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    if (coding !== "gzip" && coding !== "*") return false;
    return !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p));
  });
}
