/**
 * What `tickflow db info` says of a DuckDB file: DuckDB's version and the schema's, read without
 * writing (and without migrating: an older file is reported as it is).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { openError, StoreError } from "./errors.js";
import { LATEST_VERSION, schemaVersion } from "./migrate.js";

export interface DuckDbInfo {
  backend: "duckdb";
  /** DuckDB's library version, e.g. `v1.5.2`. */
  serverVersion: string;
  /** The applied schema version (0: not a tickflow database yet). */
  schemaVersion: number;
  latestVersion: number;
  /** The absolute path of the file. */
  location: string;
}

/**
 * The DuckDB file at `path` opened read-only, as it is: no migration, no schema check (what `db
 * info` and `db copy` read). Close the instance when done.
 *
 * @throws StoreError when the file does not exist, is locked by a writer, or is not DuckDB's.
 */
export async function openDuckDbAsItIs(
  path: string,
): Promise<{ instance: DuckDBInstance; absolute: string }> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) {
    throw new StoreError(`database ${absolute} does not exist (tickflow db migrate creates it)`, absolute);
  }
  try {
    const instance = await DuckDBInstance.create(absolute, {
      access_mode: "READ_ONLY",
      autoinstall_known_extensions: "false",
      autoload_known_extensions: "false",
    });
    return { instance, absolute };
  } catch (err) {
    throw openError(absolute, err);
  }
}

/** @throws StoreError when the file does not exist, is locked by a writer, or is not DuckDB's. */
export async function duckdbInfo(path: string): Promise<DuckDbInfo> {
  const { instance, absolute } = await openDuckDbAsItIs(path);
  try {
    const db = await instance.connect();
    try {
      const version = await db.runAndReadAll("SELECT library_version FROM pragma_version()");
      return {
        backend: "duckdb",
        serverVersion: String(version.getRows()[0]?.[0] ?? "unknown"),
        schemaVersion: await schemaVersion(db),
        latestVersion: LATEST_VERSION,
        location: absolute,
      };
    } finally {
      db.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}
