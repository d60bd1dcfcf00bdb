/**
 * The console's build: `vite build --config ui/vite.config.ts` writes `dist/console/` (index.html and
 * hashed assets), which the daemon serves at `/`. `vite --config ui/vite.config.ts` is the dev
 * server; it proxies `/api` to a running daemon (TICKFLOW_API_URL, default http://127.0.0.1:4200).
 * `vite preview` sends the daemon's Content-Security-Policy, to catch violations before the daemon
 * serves the build.
 */
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin, type ProxyOptions } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));
const api = process.env.TICKFLOW_API_URL ?? "http://127.0.0.1:4200";

/**
 * The daemon refuses state-changing requests whose Origin is not its own host (a page of another
 * site may not drive it). Served by the daemon, the console is same-origin; through this proxy it
 * is not, so the proxy presents the daemon's own origin, as the built console will.
 */
const proxy: ProxyOptions = {
  target: api,
  changeOrigin: true,
  configure: (server) => {
    server.on("proxyReq", (req) => {
      if (req.getHeader("origin") !== undefined) req.setHeader("origin", new URL(api).origin);
    });
  },
};

const previewCsp: Plugin = {
  name: "tickflow-preview-csp",
  configurePreviewServer(server) {
    server.middlewares.use((_req, res, next) => {
      res.setHeader("Content-Security-Policy", "default-src 'self'");
      next();
    });
  },
};

export default defineConfig({
  root,
  base: "/",
  publicDir: "public",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/console", import.meta.url)),
    emptyOutDir: true,
    assetsDir: "assets",
    // A small file inlined as a data: URL would be blocked by the CSP (default-src 'self').
    assetsInlineLimit: 0,
    target: "es2022",
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
    chunkSizeWarningLimit: 300,
  },
  plugins: [previewCsp],
  server: { proxy: { "/api": proxy } },
  preview: { proxy: { "/api": proxy } },
});
