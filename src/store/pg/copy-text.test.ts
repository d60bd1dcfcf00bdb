/**
 * The COPY text encoding of DuckDB values: escapes, doubles' special values, and dates and
 * timestamps checked against DuckDB's own calendar over a wide range (BC, far future, before 1970).
 * That PostgreSQL reads them back exactly is `tests/db-copy.test.ts`'s part.
 */
import {
  DuckDBInstance,
  DuckDBTimestampTZValue,
  DuckDBVarCharType,
  INTERVAL,
  TIMESTAMPTZ,
  VARCHAR,
} from "@duckdb/node-api";
import { expect, it } from "vitest";
import { CopyValueError, copyDate, copyDouble, copyFieldOf, copyText, copyTimestampTz } from "./copy-text.js";

it("escapes backslash, newline, carriage return and tab; leaves the rest", () => {
  expect(copyText("a\tb\nc\rd\\e")).toBe("a\\tb\\nc\\rd\\\\e");
  expect(copyText("\\N")).toBe("\\\\N");
  expect(copyText("plain 'quotes' \"too\" ünï 📈")).toBe("plain 'quotes' \"too\" ünï 📈");
  // U+0000, which PostgreSQL cannot store, becomes U+FFFD as PostgreSQL's writers store it; counted.
  let altered = 0;
  const count = () => altered++;
  expect(copyFieldOf(VARCHAR, "message", count)("a\u0000b\t")).toBe("a\uFFFDb\\t");
  const json = DuckDBVarCharType.create("JSON");
  expect(copyFieldOf(json, "facts", count)('{"a":"x\\u0000y"}')).toBe('{"a":"x\\\\ufffdy"}');
  expect(copyFieldOf(VARCHAR, "message", count)("fine")).toBe("fine");
  expect(altered).toBe(2);
  expect(() => copyFieldOf(INTERVAL, "span")).toThrow(
    new CopyValueError("column span: DuckDB type INTERVAL has no PostgreSQL counterpart here"),
  );
});

it("doubles: the shortest exact text, -0 kept, PostgreSQL's words for NaN and the infinities", () => {
  expect(
    [0.1 + 0.2, -0, 0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 5e-324].map(
      copyDouble,
    ),
  ).toEqual(["0.30000000000000004", "-0", "0", "NaN", "Infinity", "-Infinity", "5e-324"]);
});

it("dates and timestamps agree with DuckDB's calendar, from 4000 BC to year 200000", async () => {
  const instance = await DuckDBInstance.create(":memory:");
  const db = await instance.connect();
  try {
    await db.run("SET TimeZone = 'UTC'");
    // Day numbers across eras, with the edges of months, leap days and year 0 among them.
    const reader = await db.runAndReadAll(
      `SELECT d, replace(CAST(DATE '1970-01-01' + d::INTEGER AS VARCHAR), ' (BC)', ' BC') FROM (
         SELECT unnest(range(-2182000, 72000000, 9973)) AS d
         UNION ALL SELECT unnest([-719530, -719529, -719528, -719162, -719163, -1, 0, 59, 60, 11016, 2932896])
       )`,
    );
    const rows = reader.getRows();
    expect(rows.length).toBeGreaterThan(7000);
    for (const [days, text] of rows) expect(copyDate(Number(days))).toBe(text);
    expect(copyDate(2_147_483_647)).toBe("infinity");
    expect(copyDate(-2_147_483_647)).toBe("-infinity");

    const stamps = await db.runAndReadAll(
      `SELECT t, strftime(t, '%Y-%m-%d %H:%M:%S.%f') FROM (SELECT unnest([
         TIMESTAMPTZ '1969-12-31 23:59:59.999999+00', TIMESTAMPTZ '1970-01-01 00:00:00+00',
         TIMESTAMPTZ '2026-01-05 09:00:00.000001+05:30', TIMESTAMPTZ '1600-02-29 12:34:56.5+00',
         TIMESTAMPTZ '2400-12-31 23:59:59.999999+00', TIMESTAMPTZ '0001-01-01 00:00:00+00'
       ]) AS t)`,
    );
    const field = copyFieldOf(TIMESTAMPTZ, "ts");
    for (const [value, text] of stamps.getRows()) expect(field(value!)).toBe(`${text}+00`);
    // Before year 1, and microseconds on either side of the 2^53 fast path.
    expect(copyTimestampTz(-62_135_596_800_000_001n)).toBe("0001-12-31 23:59:59.999999+00 BC");
    expect(copyTimestampTz(9_007_199_254_740_991n)).toBe("2255-06-05 23:47:34.740991+00");
    expect(copyTimestampTz(9_007_199_254_740_993n)).toBe("2255-06-05 23:47:34.740993+00");
    expect(copyTimestampTz(-9_007_199_254_740_993n)).toBe("1684-07-28 00:12:25.259007+00");
    expect(field(new DuckDBTimestampTZValue(9_223_372_036_854_775_807n))).toBe("infinity");
    expect(field(new DuckDBTimestampTZValue(-9_223_372_036_854_775_807n))).toBe("-infinity");
  } finally {
    db.closeSync();
    instance.closeSync();
  }
});
