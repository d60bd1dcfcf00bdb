/**
 * `tickflow ui`'s server: the console and the API's routes over a database opened read-only (no
 * daemon holds it; other readers may). State changes are refused (`writable: false`), `/api/health`
 * says `read-only`. Same port rules as the daemon: a token is needed off loopback, the Host check.
 */
import { createApi } from "../api/app.js";
import { checkApiBinding, isOwnHost, serveApi } from "../api/serve.js";
import { LocalControlPlane } from "../control/local.js";
import { LocalConsoleViews } from "../control/local-views.js";
import { openStore } from "../store/index.js";
import { createConsoleApp } from "./app.js";
import { type ConsoleFiles, shippedConsoleFiles } from "./files.js";

export interface ReadOnlyConsoleOptions {
  dbPath: string;
  host: string;
  port: number;
  token: string | undefined;
  /** Other names the server may be reached by (`TICKFLOW_API_HOSTS`). */
  apiHosts?: readonly string[];
  version: string;
  /** Told about failures that are ours (answered 500). */
  onError(message: string): void;
  /** The console's files (default: the ones this tickflow ships). */
  files?: ConsoleFiles;
}

export interface ReadOnlyConsole {
  /** Where a browser opens it (`http://127.0.0.1:4200/`). */
  url: string;
  port: number;
  /** Stops serving and lets go of the database. */
  close(): Promise<void>;
}

/**
 * Opens the database read-only and serves it. Throws what `openStore` throws (`StoreLockedError`
 * when a daemon holds the file), `checkApiBinding`'s refusal, and listen errors (`EADDRINUSE`).
 */
export async function startReadOnlyConsole(options: ReadOnlyConsoleOptions): Promise<ReadOnlyConsole> {
  checkApiBinding(options.host, options.token);
  const store = await openStore(options.dbPath, { readOnly: true });
  try {
    let port = options.port;
    const ownHost = (host: string | undefined) =>
      isOwnHost(host, { host: options.host, port, names: options.apiHosts ?? [] });
    const api = createApi({
      control: new LocalControlPlane(store),
      views: new LocalConsoleViews(store),
      token: options.token,
      writable: false,
      ownHost,
      onError: options.onError,
      health: async () => ({ status: "read-only", version: options.version, database: store.path }),
      metrics: async () =>
        "# tickflow ui: no metrics (no daemon runs here; the daemon's /metrics has them)\n",
    });
    const served = await serveApi(
      createConsoleApp({
        api,
        files: options.files ?? shippedConsoleFiles(),
        ownHost,
      }),
      { host: options.host, port: options.port, token: options.token },
    );
    port = served.port;
    return {
      url: `http://${browsable(options.host)}:${port}/`,
      port,
      close: async () => {
        await served.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** The address a browser on this machine uses for a bind address (`0.0.0.0` -> `127.0.0.1`). */
function browsable(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}
