/** Reading a deployment's schedules as registered (`deploy` writes them: src/daemon/deploy.ts). */
import type { DuckDBConnection } from "@duckdb/node-api";
import { asJson, asNumber, rowObjects } from "./values.js";

export interface ScheduleRow {
  /** Content-derived id (src/schedule/run-key.ts). */
  id: string;
  /** 0-based place in the deployment's list. */
  position: number;
  /** The schedule as the file says it, without `active`. */
  definition: Record<string, unknown>;
  active: boolean;
  /** Paused at run time (CLI/API). */
  paused: boolean;
}

/** The schedules of `deployment`, in file order. */
export async function schedulesOf(db: DuckDBConnection, deployment: string): Promise<ScheduleRow[]> {
  const reader = await db.runAndReadAll(
    `SELECT id, position, definition::VARCHAR AS definition, active, paused FROM schedules
     WHERE deployment = $deployment ORDER BY position`,
    { deployment },
  );
  return rowObjects(reader).map(toScheduleRow);
}

/** A stored schedule (its definition as JSON text or parsed), both backends. */
export function toScheduleRow(r: Record<string, unknown>): ScheduleRow {
  return {
    id: String(r.id),
    position: asNumber(r.position),
    definition: asJson<Record<string, unknown>>(r.definition) ?? {},
    active: r.active === true,
    paused: r.paused === true,
  };
}
