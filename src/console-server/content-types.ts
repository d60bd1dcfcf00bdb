/** Content types of the console's files, by extension (what Vite's build makes). */

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  map: "application/json",
  webmanifest: "application/manifest+json",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  ico: "image/x-icon",
  woff2: "font/woff2",
  woff: "font/woff",
  ttf: "font/ttf",
  otf: "font/otf",
  txt: "text/plain; charset=utf-8",
  wasm: "application/wasm",
};

/** The content type of `path`; unknown extensions are bytes (with `nosniff`, never run or shown as a page). */
export function contentType(path: string): string {
  const dot = path.lastIndexOf(".");
  return (dot < 0 ? undefined : TYPES[path.slice(dot + 1).toLowerCase()]) ?? "application/octet-stream";
}

/** Worth gzipping: text (images and fonts are compressed already). */
export function compressible(type: string): boolean {
  return /^text\/|^application\/(json|manifest\+json)|^image\/svg\+xml/.test(type);
}
