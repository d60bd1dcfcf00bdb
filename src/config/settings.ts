import { z } from "zod";
import { unsupportedDatabaseUrl } from "../store/errors.js";
import { SettingsError } from "./settings-error.js";

/**
 * Every environment variable tickflow reads, parsed once into one typed object.
 * `deployment/env.example` lists the same variables; a test keeps the two in step.
 */
export const settingsSchema = z.object({
  TICKFLOW_DB: z
    .string()
    .min(1)
    // A URL would otherwise become a folder named "postgresql:" (the message never repeats the URL).
    .check((ctx) => {
      const problem = unsupportedDatabaseUrl(ctx.value);
      if (problem) ctx.issues.push({ code: "custom", message: problem, input: ctx.value });
    })
    .default("./tickflow.duckdb")
    .describe("Path of the DuckDB database file."),
  TICKFLOW_LOG_LEVEL: z
    .enum(["debug", "info", "warn", "error"])
    .default("info")
    .describe("Least severe log level printed."),
  TICKFLOW_LOG_FORMAT: z
    .enum(["auto", "text", "json"])
    .default("auto")
    .describe("Log lines as text or JSON; auto: text on a TTY, JSON otherwise (journald)."),
  TICKFLOW_CONFIG: z
    .string()
    .min(1)
    .default("deployment/tickflow.yaml")
    .describe(
      "The deployments file used by `deploy`, `daemon` and `schedule explain` (and completion of deployment names).",
    ),
  TICKFLOW_API_URL: z
    .url()
    .optional()
    .describe(
      "A daemon's HTTP API: when set, every CLI verb goes through it (from any directory or host). Unset: the CLI uses the database, or the daemon on TICKFLOW_API_PORT of this machine when one holds the database or there is none here.",
    ),
  TICKFLOW_API_HOST: z
    .string()
    .min(1)
    .default("127.0.0.1")
    .describe("Address the daemon's HTTP API binds to."),
  TICKFLOW_API_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(4200)
    .describe("Port of the daemon's HTTP API."),
  TICKFLOW_API_TOKEN: z
    .string()
    .min(16, "must be at least 16 characters")
    .optional()
    .describe("Bearer token for the HTTP API; required when it binds to a non-loopback address."),
  TICKFLOW_API_HOSTS: z
    .string()
    .optional()
    .transform((text) =>
      (text ?? "")
        .split(",")
        .map((name) => name.trim().toLowerCase())
        .filter(Boolean),
    )
    .describe(
      "Other names the API may be reached by (comma-separated, e.g. tickflow.internal): requests naming any other Host are refused (DNS rebinding).",
    ),
  TICKFLOW_NAME: z
    .string()
    .min(1)
    .optional()
    .describe(
      "This daemon's or worker's name in a PostgreSQL database (default host:daemon:port, host:worker:pool): unique per process; a restart under the same name recovers the runs its previous life held.",
    ),
  TICKFLOW_SHUTDOWN_GRACE: z
    .string()
    .regex(/^\d+(ms|s|m)$/, "a duration such as 30s, 2m or 500ms")
    .default("30s")
    .describe(
      "On SIGTERM, how long the daemon lets running runs finish before it cancels them (keep it under the unit's TimeoutStopSec).",
    ),
  TICKFLOW_CACHE_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Where the single binary extracts DuckDB's native library (default: $XDG_CACHE_HOME/tickflow).",
    ),
  POLYGON_API_KEY: z
    .string()
    .min(1)
    .optional()
    .describe("Polygon (Massive) API key used by the polygon.* steps."),
  TICKFLOW_SECRET_VARS: z
    .string()
    .regex(/^\s*\w+(\s*,\s*\w+)*\s*$/, "variable names separated by commas")
    .optional()
    .describe(
      "More variables whose values are secrets, comma-separated (besides names ending in _KEY, _TOKEN, _SECRET or _PASSWORD): masked as *** in logs, outputs and errors.",
    ),
  TICKFLOW_PUBLIC_URL: z
    .string()
    .url()
    .optional()
    .describe(
      "The console's address as operators reach it, for the run links in notifications (default http://127.0.0.1:4200).",
    ),
  NO_COLOR: z.string().optional().describe("Set to anything to turn off colour and progress bars."),
});

export type Settings = z.output<typeof settingsSchema>;

/** Variables whose values are secrets: never printed, logged or stored. */
export const SECRET_SETTINGS = ["TICKFLOW_API_TOKEN", "POLYGON_API_KEY"] as const;

export { SettingsError };

/** Reads the settings from an environment; empty strings count as unset. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const known = Object.keys(settingsSchema.shape);
  const input = Object.fromEntries(known.map((k) => [k, env[k] === "" ? undefined : env[k]]));
  const result = settingsSchema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`);
  throw new SettingsError(`invalid environment:\n  ${lines.join("\n  ")}`);
}

/** Where a daemon of this machine answers: TICKFLOW_API_URL, else loopback on TICKFLOW_API_PORT. */
export function apiUrl(settings: Settings): string {
  if (settings.TICKFLOW_API_URL) return settings.TICKFLOW_API_URL;
  const host = settings.TICKFLOW_API_HOST;
  const loopback = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return `http://${loopback.includes(":") ? `[${loopback}]` : loopback}:${settings.TICKFLOW_API_PORT}`;
}
