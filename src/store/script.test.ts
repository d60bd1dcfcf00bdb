import { describe, expect, it } from "vitest";
import { singleStatement } from "./script.js";

describe("singleStatement", () => {
  it("drops trailing semicolons and comments", () => {
    expect(singleStatement("SELECT 1")).toBe("SELECT 1");
    expect(singleStatement("  SELECT 1 ;; \n")).toBe("SELECT 1");
    expect(singleStatement("SELECT 1; -- the answer\n/* done */")).toBe("SELECT 1");
    expect(singleStatement("SELECT 1 -- no semicolon")).toBe("SELECT 1");
    expect(singleStatement("-- lead\nSELECT a -- mid\nFROM t; ")).toBe("-- lead\nSELECT a -- mid\nFROM t");
  });

  it("does not look for semicolons inside strings, identifiers or dollar quotes", () => {
    expect(singleStatement("SELECT ';--x' AS \"a;b\";")).toBe("SELECT ';--x' AS \"a;b\"");
    expect(singleStatement("SELECT 'it''s; fine'")).toBe("SELECT 'it''s; fine'");
    expect(singleStatement("SELECT E'a\\';b'; ")).toBe("SELECT E'a\\';b'");
    expect(singleStatement("SELECT $$a;b$$, $s")).toBe("SELECT $$a;b$$, $s");
  });

  it("refuses several statements", () => {
    expect(() => singleStatement("SELECT 1; SELECT 2")).toThrow(
      "expected a single SQL statement, found several",
    );
    expect(() => singleStatement("DELETE FROM t; SELECT 2;")).toThrow(/several/);
  });
});
