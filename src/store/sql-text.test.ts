import { describe, expect, it } from "vitest";
import { paramKey, replacePlaceholders, splitStatements } from "./sql-text.js";

describe("splitStatements", () => {
  it("splits on semicolons outside strings, identifiers, dollar quotes and comments", () => {
    expect(splitStatements("SELECT 1; SELECT ';' AS \"a;b\"; SELECT $$;$$ -- ;\n;")).toEqual([
      "SELECT 1",
      "SELECT ';' AS \"a;b\"",
      "SELECT $$;$$",
    ]);
    expect(splitStatements("-- lead\nSELECT 1;\n/* only a comment */;")).toEqual(["-- lead\nSELECT 1"]);
    expect(splitStatements("  ;; ")).toEqual([]);
  });
});

describe("replacePlaceholders", () => {
  const params = { symbol: "AAPL", Day: "2024-01-02" };
  it("replaces $name outside strings, dollar quotes and identifiers, matching names without case", () => {
    expect(
      replacePlaceholders(
        "SELECT $symbol, '$symbol', $t$ $symbol $t$, a$symbol, $day::DATE",
        params,
        (k) => `<${k}>`,
      ),
    ).toBe("SELECT <symbol>, '$symbol', $t$ $symbol $t$, a$symbol, <Day>::DATE");
  });
  it("names a missing or positional placeholder", () => {
    expect(() => replacePlaceholders("SELECT $nope", params, (k) => k)).toThrow(
      "$nope has no value: add it to params (given: symbol, Day)",
    );
    expect(() => paramKey(params, "1")).toThrow(/positional parameters \(\? or \$1\) are not supported/);
  });
});
