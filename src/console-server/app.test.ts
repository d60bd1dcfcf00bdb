/**
 * The console's serving in process (`app.request()`), over a temporary folder holding a fake
 * build (`index.html`, hashed assets) and the real API over a real database: the shell for every
 * client route, the files with their types and cache policies, the security headers, the token
 * (not for the console's files, still for the API), the Host check, paths that try to leave the
 * folder (also on a real socket, where nothing normalises them), and `tickflow ui`'s read-only server.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApi, READ_ONLY_REFUSAL } from "../api/app.js";
import { isOwnHost, serveApi } from "../api/serve.js";
import { LocalControlPlane } from "../control/local.js";
import type { Store } from "../store/open.js";
import { tempDir, tempStore } from "../store/testing.js";
import { createConsoleApp } from "./app.js";
import { folderFiles } from "./files.js";
import { startReadOnlyConsole } from "./read-only.js";
import { CONTENT_SECURITY_POLICY } from "./security-headers.js";

const TOKEN = "a-token-of-twenty-chars";
const SHELL =
  '<!doctype html><script type="module" src="/assets/index-1a2b3c.js"></script><div id="app"></div>';
const SCRIPT = `console.log(${JSON.stringify("x".repeat(4000))});\n`;
const SECRET = "the-secret-outside-the-console-folder";

let store: Store;
let root: string; // holds console/ (the build) and secret.txt beside it
let cleanup: () => Promise<void>;

beforeAll(async () => {
  let dir: string;
  ({ store, dir, cleanup } = await tempStore());
  root = dir;
  mkdirSync(join(root, "console", "assets"), { recursive: true });
  writeFileSync(join(root, "console", "index.html"), SHELL);
  writeFileSync(join(root, "console", "assets", "index-1a2b3c.js"), SCRIPT);
  writeFileSync(join(root, "console", "assets", "index-4d5e6f.css"), "body{margin:0}");
  writeFileSync(join(root, "console", "assets", "font-7a8b9c.woff2"), Buffer.from([0x77, 0x4f, 0x46, 0x32]));
  writeFileSync(join(root, "console", "favicon.svg"), "<svg/>");
  writeFileSync(join(root, "console", ".env"), SECRET);
  writeFileSync(join(root, "secret.txt"), SECRET);
  writeFileSync(join(root, "console", "assets", "secret.txt"), "inside");
});

afterAll(async () => {
  await cleanup();
});

function makeApp(
  options: { token?: string; ownHost?: (host: string | undefined) => boolean; dir?: string } = {},
) {
  const api = createApi({
    control: new LocalControlPlane(store),
    token: options.token,
    health: async () => ({ status: "ok" }),
    metrics: async () => "tickflow_up 1\n",
    onError: () => {},
    ...(options.ownHost ? { ownHost: options.ownHost } : {}),
  });
  return createConsoleApp({
    api,
    files: folderFiles(options.dir ?? join(root, "console")),
    ...(options.ownHost ? { ownHost: options.ownHost } : {}),
  });
}

function expectSecurityHeaders(res: Response): void {
  expect(res.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("referrer-policy")).toBe("no-referrer");
}

const CLIENT_ROUTES = [
  "/",
  "/runs",
  "/runs/",
  "/runs?state=Failed&deployment=demo-hourly",
  "/runs/0190a3f2-7c1e-7d4e-9a5b-1234567890ab",
  "/deployments",
  "/deployments/demo-hourly",
  "/deployments/with%20space?tab=runs",
  "/pools",
  "/data",
  "/data?q=AA",
  "/data/demo-synthetic/AAPL",
  "/data/demo-synthetic/BRK.B?from=2025-01-02&indicators=sma_20,rsi_14",
  "/coverage",
  "/coverage?source=demo-synthetic&from=2025-01-01",
];

describe("the app shell", () => {
  let app: Hono;
  beforeAll(() => {
    app = makeApp();
  });

  it.each(CLIENT_ROUTES)(
    "answers %s with index.html, revalidated, with the security headers",
    async (path) => {
      const res = await app.request(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expectSecurityHeaders(res);
      expect(await res.text()).toBe(SHELL);
    },
  );

  it.each([
    "/nope",
    "/runs/a/b",
    "/data/demo-synthetic",
    "/pools/x",
    "/coveragex",
    "/assets/missing-000000.js",
    "/assets",
    "/assets/",
  ])("answers 404 for %s (no shell for unknown pages)", async (path) => {
    const res = await app.request(path);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expectSecurityHeaders(res);
    expect(await res.text()).not.toContain("<!doctype");
  });

  it("HEAD answers the headers without a body; other methods 405", async () => {
    const head = await app.request("/runs", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await head.text()).toBe("");
    const post = await app.request("/runs", { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expectSecurityHeaders(post);
  });

  it("/favicon.ico: the build's, else 204 (browsers ask for it on their own)", async () => {
    const res = await app.request("/favicon.ico");
    expect(res.status).toBe(204);
    expectSecurityHeaders(res);
  });

  it("says the console is not built when the folder has no index.html (503)", async () => {
    const empty = tempDir();
    try {
      const res = await makeApp({ dir: empty.dir }).request("/runs");
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toMatch(/not built.*npm run build:console/);
    } finally {
      empty.cleanup();
    }
  });
});

describe("the built files", () => {
  let app: Hono;
  beforeAll(() => {
    app = makeApp();
  });

  it.each([
    ["/assets/index-1a2b3c.js", "text/javascript; charset=utf-8"],
    ["/assets/index-4d5e6f.css", "text/css; charset=utf-8"],
    ["/assets/font-7a8b9c.woff2", "font/woff2"],
  ])("%s: %s, cached for a year (hashed names never change)", async (path, type) => {
    const res = await app.request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(type);
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expectSecurityHeaders(res);
  });

  it("files outside assets/ are revalidated", async () => {
    const res = await app.request("/favicon.svg");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/svg+xml");
    expect(res.headers.get("cache-control")).toBe("no-cache");
  });

  it("ETag: a matching If-None-Match is a 304 without a body", async () => {
    const first = await app.request("/assets/index-1a2b3c.js");
    const etag = first.headers.get("etag");
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await app.request("/assets/index-1a2b3c.js", { headers: { "if-none-match": etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    const shell = await app.request("/runs");
    const shellAgain = await app.request("/deployments", {
      headers: { "if-none-match": `W/${shell.headers.get("etag")}` },
    });
    expect(shellAgain.status).toBe(304);
  });

  it("gzip when asked for, the bytes as they are otherwise", async () => {
    const zipped = await app.request("/assets/index-1a2b3c.js", {
      headers: { "accept-encoding": "gzip, br" },
    });
    expect(zipped.headers.get("content-encoding")).toBe("gzip");
    expect(zipped.headers.get("vary")).toBe("Accept-Encoding");
    const bytes = Buffer.from(await zipped.arrayBuffer());
    expect(Number(zipped.headers.get("content-length"))).toBe(bytes.length);
    expect(gunzipSync(bytes).toString()).toBe(SCRIPT);
    const plain = await app.request("/assets/index-1a2b3c.js", {
      headers: { "accept-encoding": "gzip;q=0" },
    });
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect(await plain.text()).toBe(SCRIPT);
  });

  it("a rebuild is picked up (the folder is read when asked)", async () => {
    const dir = join(root, "rebuilt");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "index.html"), "one");
    const rebuilt = makeApp({ dir });
    expect(await (await rebuilt.request("/")).text()).toBe("one");
    writeFileSync(join(dir, "index.html"), "second build");
    expect(await (await rebuilt.request("/")).text()).toBe("second build");
  });
});

/** Paths that try to reach `secret.txt` beside the console's folder, or its dotfiles. */
const TRAVERSALS = [
  "/assets/../../secret.txt",
  "/assets/%2e%2e/%2e%2e/secret.txt",
  "/assets/%2E%2E/%2E%2E/secret.txt",
  "/assets/..%2f..%2fsecret.txt",
  "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
  "/assets/..%5c..%5csecret.txt",
  "/assets/..\\..\\secret.txt",
  "/..%2fsecret.txt",
  "/%2e%2e/secret.txt",
  "/assets//../../secret.txt",
  "/assets/%252e%252e/%252e%252e/secret.txt",
  "/.env",
  "/assets/%2e%2e/.env",
  "/assets/./secret.txt/",
  "/assets/secret.txt%00.js",
];

describe("paths that try to leave the console's folder", () => {
  let app: Hono;
  beforeAll(() => {
    app = makeApp();
  });

  it.each(TRAVERSALS)("%s (in process) is refused", async (path) => {
    const res = await app.request(path);
    expect([400, 404]).toContain(res.status);
    expect(await res.text()).not.toContain(SECRET);
  });

  it("on a real socket, where the raw path reaches the app as sent", async () => {
    const served = await serveApi(app, { host: "127.0.0.1", port: 0, token: undefined });
    try {
      for (const path of TRAVERSALS) {
        const res = await rawGet(served.port, path);
        expect([400, 404], `${path}: ${res.status}`).toContain(res.status);
        expect(res.body, path).not.toContain(SECRET);
      }
      expect((await rawGet(served.port, "/assets/index-1a2b3c.js")).status).toBe(200);
    } finally {
      await served.close();
    }
  });
});

/** A GET of `path` exactly as given (fetch would normalise it). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("with TICKFLOW_API_TOKEN set", () => {
  let app: Hono;
  beforeAll(() => {
    app = makeApp({ token: TOKEN });
  });

  it("the shell and the files need no token", async () => {
    for (const path of ["/", "/runs/abc", "/assets/index-1a2b3c.js"]) {
      expect((await app.request(path)).status, path).toBe(200);
    }
  });

  it("the API and /metrics still do, with the security headers on their answers too", async () => {
    for (const path of ["/api/health", "/api/runs", "/metrics", "/api"]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(401);
      expectSecurityHeaders(res);
    }
    const ok = await app.request("/api/health", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expectSecurityHeaders(ok);
    expect(await ok.json()).toEqual({ status: "ok" });
  });

  it("a path under /api is the API's, never a file of the console's folder", async () => {
    expect((await app.request("/api/assets/index-1a2b3c.js")).status).toBe(401);
    expect((await app.request("/api/index.html")).status).toBe(401);
  });
});

describe("the Host check", () => {
  let app: Hono;
  beforeAll(() => {
    app = makeApp({ ownHost: (host) => isOwnHost(host, { host: "127.0.0.1", port: 4200, names: [] }) });
  });

  it("applies to the console's files as to the API (DNS rebinding)", async () => {
    for (const path of ["/", "/runs", "/assets/index-1a2b3c.js", "/api/health"]) {
      const foreign = await app.request(path, { headers: { host: "evil.example:4200" } });
      expect(foreign.status, path).toBe(403);
      expect(((await foreign.json()) as { error: string }).error).toMatch(/not this daemon's address/);
      expectSecurityHeaders(foreign);
      expect((await app.request(path, { headers: { host: "127.0.0.1:4200" } })).status, path).toBe(200);
    }
  });
});

describe("tickflow ui's server (read-only)", () => {
  let path: string;
  let ro: Awaited<ReturnType<typeof startReadOnlyConsole>>;
  let dbCleanup: () => Promise<void>;
  const errors: string[] = [];

  beforeAll(async () => {
    const made = await tempStore("ui.duckdb");
    path = made.path;
    dbCleanup = made.cleanup;
    await made.store.close();
    ro = await startReadOnlyConsole({
      dbPath: path,
      host: "127.0.0.1",
      port: 0,
      token: undefined,
      version: "9.9.9",
      onError: (m) => errors.push(m),
      files: folderFiles(join(root, "console")),
    });
  });

  afterAll(async () => {
    await ro?.close();
    await dbCleanup();
  });

  const call = (method: string, p: string) =>
    fetch(new URL(p, ro.url), {
      method,
      ...(method === "GET" ? {} : { headers: { "content-type": "application/json" }, body: "{}" }),
    });

  it("serves the shell and the API's reads; /api/health says read-only", async () => {
    expect(ro.url).toBe(`http://127.0.0.1:${ro.port}/`);
    const shell = await call("GET", "/runs");
    expect(shell.status).toBe(200);
    expect(shell.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(await shell.text()).toBe(SHELL);
    expect(await (await call("GET", "/api/health")).json()).toEqual({
      status: "read-only",
      version: "9.9.9",
      database: path,
    });
    expect(await (await call("GET", "/api/runs")).json()).toEqual([]);
  });

  it.each([
    ["POST", "/api/deployments/demo-hourly/runs"],
    ["POST", "/api/runs/0190a3/cancel"],
    ["POST", "/api/runs/0190a3/retry"],
    ["POST", "/api/deployments/demo-hourly/pause"],
    ["POST", "/api/work-pools/default/resume"],
    ["PUT", "/api/deployments"],
  ])("%s %s: 403, read-only", async (method, p) => {
    const res = await call(method, p);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: READ_ONLY_REFUSAL });
    expect(READ_ONLY_REFUSAL).toMatch(/^read-only console: .*start tickflow daemon to /);
  });

  it("read-only SQL still answers (POST /api/query only reads)", async () => {
    const res = await fetch(new URL("/api/query", ro.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sql: "SELECT 42 AS answer" }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { rows: unknown[] }).rows).toEqual([{ answer: 42 }]);
    expect(errors).toEqual([]);
  });
});
