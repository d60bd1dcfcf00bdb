import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { StoreError } from "../errors.js";
import { tempDir } from "../testing.js";
import { lookupPgpass } from "./pgpass.js";
import { isPostgresUrl, maskDatabaseUrl, parsePostgresUrl } from "./url.js";

const NO_ENV = {};

describe("parsePostgresUrl", () => {
  it("takes host, port, database, user and password from the URL", () => {
    const c = parsePostgresUrl("postgresql://bob:s%40cret@db.example:6543/market", NO_ENV);
    expect(c).toMatchObject({
      host: "db.example",
      port: 6543,
      database: "market",
      user: "bob",
      password: "s@cret",
      sslmode: "prefer",
      ssl: false,
      where: "db.example:6543/market",
      display: "postgresql://bob:***@db.example:6543/market",
    });
  });

  it("fills what the URL leaves out from PGHOST, PGPORT, PGDATABASE, PGUSER, PGSSLMODE", () => {
    const env = { PGHOST: "h", PGPORT: "5555", PGDATABASE: "d", PGUSER: "u", PGSSLMODE: "require" };
    const c = parsePostgresUrl("postgres://", env);
    expect(c).toMatchObject({ host: "h", port: 5555, database: "d", user: "u", sslmode: "require" });
    expect(c.password).toBeUndefined();
    expect(c.ssl).toEqual({ rejectUnauthorized: false });
    expect(parsePostgresUrl("postgresql://ann@x", NO_ENV)).toMatchObject({ port: 5432, database: "ann" });
  });

  it("sslmode: verify-full checks the host name, verify-ca only the chain; a typo is refused", () => {
    expect(parsePostgresUrl("postgresql://u@h/d?sslmode=verify-full", NO_ENV).ssl).toEqual({
      rejectUnauthorized: true,
    });
    const ca = parsePostgresUrl("postgresql://u@h/d?sslmode=verify-ca", NO_ENV).ssl;
    expect(ca && typeof ca.checkServerIdentity).toBe("function");
    expect(() => parsePostgresUrl("postgresql://u:pw@h/d?sslmode=verify", NO_ENV)).toThrow(
      "invalid PostgreSQL URL postgresql://u:***@h/d?sslmode=verify: sslmode verify is not one of disable, allow, prefer, require, verify-ca, verify-full",
    );
    expect(() => parsePostgresUrl("postgresql://u@h/d?ssl_mode=require", NO_ENV)).toThrow(
      /unknown parameter ssl_mode/,
    );
  });

  it("never repeats a password: masked in user:password@ and ?password=, the scheme alone when unparsable", () => {
    expect(maskDatabaseUrl("postgresql://u:pw@h:1/d?password=pw2&sslmode=require")).toBe(
      "postgresql://u:***@h:1/d?password=***&sslmode=require",
    );
    expect(maskDatabaseUrl("postgresql://u:p w@[::1/d")).toBe("postgresql://...");
    expect(maskDatabaseUrl("/a/t.duckdb")).toBe("/a/t.duckdb");
    const err = (() => {
      try {
        parsePostgresUrl("postgresql://u:topsecret@h:99999/d", NO_ENV);
      } catch (e) {
        return e as StoreError;
      }
    })();
    expect(err).toBeInstanceOf(StoreError);
    expect(err?.message).not.toContain("topsecret");
    expect(isPostgresUrl("POSTGRES://x")).toBe(true);
    expect(isPostgresUrl("./postgresql.duckdb")).toBe(false);
  });
});

describe("lookupPgpass", () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);
  const target = { host: "db.example", port: 5432, database: "market", user: "bob" };

  it("the first matching line, with * and escapes; a file others may read is ignored", () => {
    const file = join(dir, "pgpass");
    writeFileSync(
      file,
      ["# comment", "other:5432:market:bob:no", "db.example:*:market:bob:pa\\:ss", "*:*:*:*:fallback"].join(
        "\n",
      ),
    );
    chmodSync(file, 0o600);
    const env = { PGPASSFILE: file };
    expect(lookupPgpass(target, env).password).toBe("pa:ss");
    expect(lookupPgpass({ ...target, user: "ann" }, env).password).toBe("fallback");
    chmodSync(file, 0o644);
    expect(lookupPgpass(target, env)).toEqual({
      file,
      ignored: `${file} may be read by others (chmod 600 it)`,
    });
    expect(lookupPgpass(target, { PGPASSFILE: join(dir, "missing") }).password).toBeUndefined();
  });
});
