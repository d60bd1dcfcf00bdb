/**
 * The console in a real browser: Chromium (Debian's, found by path) driven by playwright-core, a
 * real daemon over a demo database, and per page the console errors and failed requests seen.
 *
 *   consoleDescribe("runs view", () => {
 *     it("lists the demo run", () =>
 *       withConsole(async ({ page, url, errors }) => {
 *         await page.goto(`${url}runs`);
 *         ...
 *         expect(errors()).toEqual([]);
 *       }));
 *   });
 *
 * Without Chromium (or without a console build) the tests are skipped, and the skip says why.
 * Screenshots go to `build/screenshots/` (not committed).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page, type Request } from "playwright-core";
import { afterAll, beforeAll, describe, it } from "vitest";
import { REPO, tempDir, tickflow } from "./cli.js";
import { type Daemon, spawnDaemon } from "./daemon.js";

/** A token for the console's daemon (the page is given it as the user would). */
export const CONSOLE_TOKEN = "browser-test-token-0123456789";

export const SCREENSHOTS = join(REPO, "build", "screenshots");

/** Chromium's executable: TICKFLOW_CHROMIUM, /usr/bin/chromium, or chromium(-browser) on the PATH. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TICKFLOW_CHROMIUM) return existsSync(env.TICKFLOW_CHROMIUM) ? env.TICKFLOW_CHROMIUM : undefined;
  for (const path of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) if (existsSync(path)) return path;
  for (const name of ["chromium", "chromium-browser"]) {
    const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
    if (found) return found;
  }
  return undefined;
}

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserSkipReason(): string | undefined {
  if (!findChromium()) {
    return "no Chromium (apt-get install chromium, or set TICKFLOW_CHROMIUM to its executable)";
  }
  if (!existsSync(join(REPO, "dist", "console", "index.html"))) {
    return "the console is not built (npm run build:console)";
  }
  return undefined;
}

/** The test project before its daemon starts: its folder and database (the demo already run). */
export interface ConsoleProject {
  dir: string;
  db: string;
}

export interface ConsoleOptions {
  /**
   * Runs once before the daemon starts (files to add, runs to make, rows to change): the daemon
   * registers the deployments of the project's `deployment/tickflow.yaml` as it starts.
   */
  prepare?: (project: ConsoleProject) => Promise<void>;
}

/**
 * `describe` for browser tests: one daemon (and one browser) for all its tests, started before
 * the first; without a browser, one skipped test whose name gives the reason.
 */
export function consoleDescribe(name: string, body: () => void, options: ConsoleOptions = {}): void {
  const reason = browserSkipReason();
  if (reason) {
    process.stderr.write(`${name}: browser tests skipped: ${reason}\n`);
    describe(name, () => {
      it.skip(`skipped: ${reason}`, () => {});
    });
    return;
  }
  describe(name, () => {
    beforeAll(() => startConsole(options), 120_000);
    afterAll(stopConsole);
    body();
  });
}

/** What a test gets: a fresh page, the console's URL, the daemon, and what went wrong on the page. */
export interface ConsoleContext {
  page: Page;
  /** `http://127.0.0.1:PORT/` */
  url: string;
  daemon: Daemon;
  token: string;
  /** Console errors, uncaught exceptions and failed requests (4xx/5xx answers too) so far. */
  errors(): string[];
  /** Saves a screenshot as `build/screenshots/<name>.png`; its path. */
  screenshot(name: string): Promise<string>;
}

interface Shared {
  browser: Browser;
  daemon: Daemon;
  project: string;
  cleanup: () => Promise<void>;
}

let shared: Shared | undefined;

/**
 * A demo project (`tickflow init`, the offline demo run once) served by a daemon with a token,
 * and a browser: one of each per test file.
 */
async function startConsole(options: ConsoleOptions): Promise<void> {
  const { dir, cleanup } = await tempDir();
  try {
    const init = await tickflow(["init", dir]);
    if (init.code !== 0) throw new Error(`tickflow init: ${init.stderr}`);
    const db = join(dir, "tickflow.duckdb");
    const demo = await tickflow(["run", "pipelines/demo.yaml", "--db", db], { cwd: dir });
    if (demo.code !== 0) throw new Error(`demo run: ${demo.stderr}`);
    await options.prepare?.({ dir, db });
    const daemon = await spawnDaemon(dir, db, { TICKFLOW_API_TOKEN: CONSOLE_TOKEN });
    const browser = await chromium.launch({ executablePath: findChromium()!, args: ["--no-sandbox"] });
    shared = { browser, daemon, project: dir, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function stopConsole(): Promise<void> {
  if (!shared) return;
  const { browser, daemon, cleanup } = shared;
  shared = undefined;
  await browser.close();
  daemon.child.kill("SIGTERM");
  await daemon.exited;
  await cleanup();
}

/** The console's daemon (inside `consoleDescribe`, after its `beforeAll`). */
export function consoleDaemon(): Daemon {
  if (!shared) throw new Error("consoleDaemon: call it inside consoleDescribe's tests");
  return shared.daemon;
}

/**
 * A call to the console daemon's API with the token, as the CLI would make it: JSON in (state
 * changes with `body`, default `{}`), JSON out; throws on an error status, with the API's message.
 */
export async function consoleApi<T>(
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<T> {
  const method = init.method ?? "GET";
  const response = await fetch(`http://127.0.0.1:${consoleDaemon().port}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${CONSOLE_TOKEN}`,
      ...(method === "GET" ? {} : { "content-type": "application/json" }),
    },
    ...(method === "GET" ? {} : { body: JSON.stringify(init.body ?? {}) }),
  });
  const json = (await response.json().catch(() => null)) as unknown;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json as T;
}

/** Rows of read-only SQL over the console's database, through `POST /api/query`. */
export async function consoleQuery<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  return (await consoleApi<{ rows: T[] }>("/api/query", { method: "POST", body: { sql } })).rows;
}

/** Where the console keeps the token the user gave it (`ui/src/api.ts`, sessionStorage). */
export const TOKEN_STORAGE_KEY = "tickflow.token";

/**
 * Runs `test` with a fresh page (its own context: no state between tests), closed afterwards.
 * `signedIn` (default true): the page starts with the token given, as after the user typed it;
 * false: it has to ask.
 */
export async function withConsole(
  test: (context: ConsoleContext) => Promise<void>,
  options: { signedIn?: boolean } = {},
): Promise<void> {
  if (!shared) throw new Error("withConsole: call it inside consoleDescribe");
  const { browser, daemon } = shared;
  const context = await browser.newContext();
  // A wait that fails says which element it waited for, well inside the test's own timeout.
  context.setDefaultTimeout(10_000);
  if (options.signedIn !== false) {
    await context.addInitScript(
      ([key, token]) => {
        try {
          sessionStorage.setItem(key, token);
        } catch {
          // no storage on this page (about:blank)
        }
      },
      [TOKEN_STORAGE_KEY, CONSOLE_TOKEN] as const,
    );
  }
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (err) => errors.push(`exception: ${err.message}`));
  // A request still in flight when the page moves to another URL (page.goto, or a link: the view
  // that made it is gone) is aborted by design; any other abort is a failure (e.g. a view that
  // drops its own request and makes it again).
  let navigations = 0;
  const madeAt = new WeakMap<Request, number>();
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) navigations++;
  });
  page.on("request", (request) => {
    // A page load's own request comes before the old view's requests are aborted, which may be
    // before the frame says it navigated (seen on a loaded machine): count the navigation here too.
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) navigations++;
    madeAt.set(request, navigations);
  });
  page.on("requestfailed", (request) => {
    const why = request.failure()?.errorText;
    if (why === "net::ERR_ABORTED" && (madeAt.get(request) ?? navigations) < navigations) return;
    errors.push(`request failed: ${request.method()} ${request.url()}: ${why}`);
  });
  page.on("response", (response) => {
    if (response.status() >= 400) errors.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  try {
    await test({
      page,
      url: `http://127.0.0.1:${daemon.port}/`,
      daemon,
      token: CONSOLE_TOKEN,
      errors: () => [...errors],
      screenshot: async (name) => {
        mkdirSync(SCREENSHOTS, { recursive: true });
        const path = join(SCREENSHOTS, `${name.replace(/[^\w.-]+/g, "_")}.png`);
        await page.screenshot({ path, fullPage: true });
        return path;
      },
    });
  } finally {
    await context.close();
  }
}
