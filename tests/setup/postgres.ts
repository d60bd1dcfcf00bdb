/**
 * vitest's global setup: one throwaway PostgreSQL server for the whole run (initdb costs about a
 * second of both cores; 25 test files each starting their own spent half a minute), shared with
 * the test files through `inject("tickflowPgBase")`. Each file still gets a database of its own
 * (`pgDescribe`). Without PostgreSQL, or with TICKFLOW_TEST_PG_URL set, nothing is started.
 */
import type { TestProject } from "vitest/node";
import { postgresSkipReason, startPostgres } from "../helpers/postgres.js";

export default async function setup(project: TestProject): Promise<() => void> {
  if (process.env.TICKFLOW_TEST_PG_URL || postgresSkipReason()) return () => {};
  const server = await startPostgres(process.env, { maxConnections: 300 });
  project.provide("tickflowPgBase", server.base);
  return () => server.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    tickflowPgBase: string | undefined;
  }
}
