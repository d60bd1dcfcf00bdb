import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { RETENTION_AGE_PATTERN } from "./cleanup-retention.js";
import { INDICATOR_PATTERN, indicatorOutputNames } from "./indicators-compute.js";
import { builtinSteps, findStep } from "./registry.js";
import { QUALITY_CHECKS } from "./validate-ohlcv.js";

function step(name: string) {
  const found = findStep(name);
  if (found === undefined) throw new Error(`no step ${name}`);
  return found;
}

function parse(name: string, input: unknown) {
  return step(name).params.safeParse(input);
}

function messages(name: string, input: unknown): string[] {
  const result = parse(name, input);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
}

/** The smallest valid `with` of every built-in step. */
const MINIMAL: Record<string, Record<string, unknown>> = {
  "polygon.daily_bars": { symbols: ["AAPL"], days_back: 5 },
  "polygon.grouped_daily": { days_back: 1 },
  "yahoo.daily_bars": { symbols: ["AAPL"], start: "2024-01-02" },
  "file.bars": { path: "data/sample.csv", source: "sample" },
  "validate.ohlcv": { source: "polygon" },
  "indicators.compute": { source: "polygon", indicators: ["sma_20"] },
  "cleanup.retention": { rules: [{ table: "run_logs", older_than: "90d" }] },
  sql: { query: "select 42 as answer" },
  export: { table: "bars_daily", path: "out/bars.parquet" },
  log: { message: "x" },
  "notify.webhook": { url: "${{ env.HOOK_URL }}", message: "x" },
  "notify.email": {
    to: ["a@example.com"],
    from: "b@example.com",
    subject: "s",
    text: "t",
    smtp: { host: "h" },
  },
};

describe("registry", () => {
  it("lists the built-in steps in SPEC order, with unique names", () => {
    expect(builtinSteps.map((s) => s.name)).toEqual([
      "polygon.daily_bars",
      "polygon.grouped_daily",
      "yahoo.daily_bars",
      "file.bars",
      "validate.ohlcv",
      "indicators.compute",
      "cleanup.retention",
      "sql",
      "export",
      "log",
      "notify.webhook",
      "notify.email",
    ]);
  });

  it("finds steps by name", () => {
    expect(findStep("log")?.name).toBe("log");
    expect(findStep("nope")).toBeUndefined();
  });

  it("declares secrets that are parameters", () => {
    for (const s of builtinSteps) {
      for (const secret of s.secrets ?? []) expect(Object.keys(s.params.shape)).toContain(secret);
    }
    expect(step("polygon.daily_bars").secrets).toEqual(["api_key"]);
    expect(step("polygon.grouped_daily").secrets).toEqual(["api_key"]);
    expect(step("yahoo.daily_bars").secrets ?? []).toEqual([]);
  });
});

describe.each(builtinSteps.map((s) => [s.name, s] as const))("%s", (name, s) => {
  it("has a summary and outputs", () => {
    expect(s.summary.length).toBeGreaterThan(10);
    expect(Object.keys(s.outputs).length).toBeGreaterThan(0);
    for (const output of Object.values(s.outputs)) expect(output.description).not.toBe("");
  });

  it("parses its minimal with", () => {
    const input = MINIMAL[name];
    expect(input).toBeDefined();
    const result = s.params.safeParse(input);
    expect(result.error?.issues ?? []).toEqual([]);
  });

  it("rejects unknown keys", () => {
    expect(messages(name, { ...MINIMAL[name], bogus: 1 })).toContain('Unrecognized key: "bogus"');
  });

  it("rejects a with that is not an object", () => {
    expect(s.params.safeParse("x").success).toBe(false);
    expect(s.params.safeParse(null).success).toBe(false);
  });
});

describe("defaults", () => {
  it("log", () => {
    expect(parse("log", { message: "x" }).data).toEqual({ message: "x", level: "info" });
  });

  it("polygon.daily_bars", () => {
    expect(parse("polygon.daily_bars", { symbols: ["AAPL"], days_back: 5 }).data).toEqual({
      symbols: ["AAPL"],
      days_back: 5,
      adjusted: true,
      base_url: "https://api.polygon.io",
      rate_limit: 5,
      concurrency: 2,
      timeout: "30s",
      max_retries: 5,
      source: "polygon",
      limit: 50000,
      corporate_actions: false,
    });
  });

  it("polygon.grouped_daily", () => {
    expect(parse("polygon.grouped_daily", { days_back: 1 }).data).toEqual({
      days_back: 1,
      adjusted: true,
      include_otc: false,
      base_url: "https://api.polygon.io",
      rate_limit: 5,
      concurrency: 2,
      timeout: "30s",
      max_retries: 5,
      source: "polygon",
    });
  });

  it("yahoo.daily_bars", () => {
    expect(
      parse("yahoo.daily_bars", { symbols: ["AAPL"], start: "2024-01-02", end: "2024-01-31" }).data,
    ).toEqual({
      symbols: ["AAPL"],
      start: "2024-01-02",
      end: "2024-01-31",
      base_url: "https://query2.finance.yahoo.com",
      rate_limit: 60,
      concurrency: 2,
      timeout: "30s",
      max_retries: 5,
      source: "yahoo",
      corporate_actions: true,
    });
  });

  it("validate.ohlcv fills every check, also when some are given", () => {
    const all = {
      nulls: "error",
      ohlc_consistency: "error",
      non_positive_price: "error",
      negative_volume: "error",
      duplicates: "error",
      missing_sessions: "warn",
      stale_price: "warn",
      price_jump: "warn",
      cross_source: "warn",
    };
    expect(Object.keys(all)).toEqual([...QUALITY_CHECKS]);
    expect(parse("validate.ohlcv", { source: "polygon" }).data).toEqual({
      source: "polygon",
      checks: all,
      stale_sessions: 5,
      max_jump_pct: 25,
      tolerance_bps: 50,
      fail_on: "error",
    });
    const partial = parse("validate.ohlcv", {
      source: "polygon",
      checks: { stale_price: "off", nulls: "warn" },
    });
    expect(partial.data?.checks).toEqual({ ...all, stale_price: "off", nulls: "warn" });
    // The default object is not shared between parses.
    const a = parse("validate.ohlcv", { source: "x" }).data as { checks: Record<string, string> };
    a.checks.nulls = "off";
    expect((parse("validate.ohlcv", { source: "x" }).data as typeof a).checks.nulls).toBe("error");
  });

  it("the others", () => {
    expect(parse("indicators.compute", MINIMAL["indicators.compute"]).data).toMatchObject({
      full_refresh: false,
    });
    expect(parse("cleanup.retention", MINIMAL["cleanup.retention"]).data).toMatchObject({ dry_run: false });
    expect(parse("export", MINIMAL.export).data).toMatchObject({ overwrite: true });
  });
});

describe("field checks", () => {
  const polygon = (extra: Record<string, unknown>) =>
    messages("polygon.daily_bars", { symbols: ["AAPL"], ...extra });

  it("dates are real YYYY-MM-DD dates", () => {
    expect(polygon({ start: "2024-02-29" })).toEqual([]);
    expect(polygon({ start: "2023-02-29" })).toEqual(["not a real calendar date"]);
    expect(polygon({ start: "2024-13-01" })).toEqual(["not a real calendar date"]);
    expect(polygon({ start: "2024-1-2" })).toContain("expected a date as YYYY-MM-DD");
  });

  it("days_back is an integer >= 1", () => {
    expect(polygon({ days_back: 0 })).not.toEqual([]);
    expect(polygon({ days_back: 1.5 })).not.toEqual([]);
  });

  it("symbols: at least one, none empty", () => {
    expect(messages("polygon.daily_bars", { symbols: [], days_back: 1 })).not.toEqual([]);
    expect(messages("polygon.daily_bars", { symbols: [""], days_back: 1 })).not.toEqual([]);
    expect(messages("polygon.daily_bars", { symbols: ["A", "A"], days_back: 1 })).toEqual([]);
  });

  it("HTTP fields", () => {
    expect(polygon({ days_back: 1, rate_limit: 0 })).toEqual([]);
    expect(polygon({ days_back: 1, rate_limit: -1 })).not.toEqual([]);
    expect(polygon({ days_back: 1, rate_limit: 0.5 })).toEqual([]);
    expect(polygon({ days_back: 1, concurrency: 0 })).not.toEqual([]);
    expect(polygon({ days_back: 1, timeout: "1m30s" })).toEqual([]);
    expect(polygon({ days_back: 1, timeout: "30" })).not.toEqual([]);
    expect(polygon({ days_back: 1, max_retries: 0 })).toEqual([]);
    expect(polygon({ days_back: 1, base_url: "https://api.massive.com" })).toEqual([]);
    expect(polygon({ days_back: 1, base_url: "http://127.0.0.1:8080" })).toEqual([]);
    expect(polygon({ days_back: 1, base_url: "api.polygon.io" })).not.toEqual([]);
    expect(polygon({ days_back: 1, limit: 50001 })).not.toEqual([]);
  });

  it("validate.ohlcv severities and thresholds", () => {
    expect(messages("validate.ohlcv", { source: "p", checks: { nulls: "fatal" } })).not.toEqual([]);
    expect(messages("validate.ohlcv", { source: "p", checks: { typo: "warn" } })).toContain(
      'Unrecognized key: "typo"',
    );
    expect(messages("validate.ohlcv", { source: "p", stale_sessions: 1 })).not.toEqual([]);
    expect(messages("validate.ohlcv", { source: "p", max_jump_pct: 0 })).not.toEqual([]);
    expect(messages("validate.ohlcv", { source: "p", compare_with: "p" })).toEqual([
      "compare_with must name another source than source",
    ]);
  });

  it("file.bars columns and format", () => {
    expect(
      messages("file.bars", { path: "a.parquet", source: "s", columns: { date: "Date", close: "Close" } }),
    ).toEqual([]);
    expect(messages("file.bars", { path: "a.csv", source: "s", columns: { ticker: "x" } })).not.toEqual([]);
    expect(messages("file.bars", { path: "data/*.csv.gz", source: "s" })).toEqual([]);
    expect(messages("file.bars", { path: "data/*.txt", source: "s" })[0]).toMatch(/cannot tell the format/);
    expect(messages("file.bars", { path: "data/*.txt", source: "s", format: "csv" })).toEqual([]);
    expect(messages("file.bars", { path: "a.csv", source: "s", symbol: "AAPL" })).toEqual([]);
    expect(
      messages("file.bars", { path: "a.csv", source: "s", symbol: "AAPL", columns: { symbol: "t" } }),
    ).toEqual(["give either symbol (files without a symbol column) or columns.symbol, not both"]);
    expect(messages("file.bars", { path: "a.csv" })).not.toEqual([]);
  });

  it("sql params are scalars with identifier names", () => {
    expect(messages("sql", { query: "select $a", params: { a: 1, b: "x", c: true, d: null } })).toEqual([]);
    expect(messages("sql", { query: "select 1", params: { a: [1] } })).not.toEqual([]);
    expect(messages("sql", { query: "select 1", params: { "a-b": 1 } })).not.toEqual([]);
  });
});

describe("refinements", () => {
  const ingest = ["polygon.daily_bars", "polygon.grouped_daily", "yahoo.daily_bars"];

  it.each(ingest)("%s: start or days_back", (name) => {
    const base = name === "polygon.grouped_daily" ? {} : { symbols: ["AAPL"] };
    expect(messages(name, base)).toEqual(["give either start (and optionally end) or days_back"]);
    expect(messages(name, { ...base, start: "2024-01-02", days_back: 5 })[0]).toMatch(
      /start and days_back cannot be used together/,
    );
    expect(messages(name, { ...base, end: "2024-01-02" })).toEqual(["end needs start"]);
    expect(messages(name, { ...base, days_back: 3, end: "2024-01-02" })[0]).toMatch(
      /end cannot be used with days_back/,
    );
    expect(messages(name, { ...base, start: "2024-01-05", end: "2024-01-02" })).toEqual([
      "end (2024-01-02) is before start (2024-01-05)",
    ]);
    expect(messages(name, { ...base, start: "2024-01-02", end: "2024-01-02" })).toEqual([]);
  });

  it("the date-range rule points at the offending field", () => {
    const result = parse("polygon.daily_bars", { symbols: ["AAPL"], start: "2024-01-02", days_back: 5 });
    expect(result.error?.issues[0]?.path).toEqual(["days_back"]);
  });

  it("reports the date-range rule together with other errors", () => {
    expect(messages("polygon.daily_bars", { symbols: [] })).toHaveLength(2);
  });

  it("validate.ohlcv: dates are optional, start and days_back still exclude each other", () => {
    expect(messages("validate.ohlcv", { source: "p", end: "2024-01-02" })).toEqual([]);
    expect(messages("validate.ohlcv", { source: "p", start: "2024-01-02", days_back: 5 })).toHaveLength(1);
  });

  it("sql: exactly one of query and file", () => {
    expect(messages("sql", { query: "select 1", file: "q.sql" })).toEqual([
      "give either query or file, not both",
    ]);
    expect(messages("sql", {})).toEqual(["give either query or file"]);
    expect(messages("sql", { file: "q.sql" })).toEqual([]);
  });

  it("export: exactly one of query and table, a known format", () => {
    expect(messages("export", { query: "select 1", table: "t", path: "a.csv" })).toEqual([
      "give either query or table, not both",
    ]);
    expect(messages("export", { path: "a.csv" })).toEqual(["give either query or table"]);
    expect(messages("export", { query: "select 1", path: "a.json" })[0]).toMatch(/cannot tell the format/);
    expect(messages("export", { query: "select 1", path: "a.json", format: "csv" })).toEqual([]);
    expect(messages("export", { table: "x; drop table runs", path: "a.csv" })).not.toEqual([]);
    expect(messages("export", { table: "t", path: "a.csv", params: { a: 1 } })).toEqual([
      "params need a query",
    ]);
  });

  it("cleanup.retention: ages and source", () => {
    const rule = (r: Record<string, unknown>) => messages("cleanup.retention", { rules: [r] });
    for (const age of ["400d", "8w", "2y", "504 sessions", "1 session"]) {
      expect(rule({ table: "bars_daily", older_than: age })).toEqual([]);
      expect(new RegExp(RETENTION_AGE_PATTERN).test(age)).toBe(true);
    }
    for (const age of ["0d", "1h", "2 years", "d", "504sessions", ""]) {
      expect(rule({ table: "bars_daily", older_than: age })).not.toEqual([]);
    }
    expect(rule({ table: "bars_daily", older_than: "2y", source: "yahoo", archive: "archive/bars" })).toEqual(
      [],
    );
    expect(rule({ table: "runs", older_than: "2y", source: "yahoo" })).toEqual([
      "runs has no source column: source cannot be used with it",
    ]);
    expect(rule({ table: "task_runs", older_than: "2y" })).not.toEqual([]);
    expect(messages("cleanup.retention", { rules: [] })).not.toEqual([]);
  });
});

describe("indicator names", () => {
  const re = new RegExp(INDICATOR_PATTERN);
  const valid = (name: string) => messages("indicators.compute", { source: "p", indicators: [name] });

  it.each([
    "sma_20",
    "ema_12",
    "wma_10",
    "rsi_14",
    "macd_12_26_9",
    "bbands_20_2",
    "bbands_20_2.5",
    "atr_14",
    "adx_14",
    "stoch_14_3_3",
    "willr_14",
    "roc_10",
    "obv",
    "vwap_20",
    "sma_1",
  ])("accepts %s", (name) => {
    expect(re.test(name)).toBe(true);
    expect(valid(name)).toEqual([]);
  });

  it.each([
    "sma",
    "sma_0",
    "foo_5",
    "SMA_20",
    "sma_20_2",
    "sma_020",
    "obv_5",
    "macd_12_26",
    "bbands_20",
    "sma_-1",
  ])("rejects %s", (name) => {
    expect(valid(name)).not.toEqual([]);
  });

  it("names the expected forms when a name is unknown", () => {
    expect(valid("foo_5")[0]).toMatch(/^unknown indicator "foo_5": expected sma_N/);
  });

  it("checks parameters the pattern cannot", () => {
    expect(valid("macd_26_12_9")).toEqual([
      "macd_26_12_9: the fast period (26) must be shorter than the slow period (12)",
    ]);
    expect(valid("macd_12_12_9")).not.toEqual([]);
    expect(valid("bbands_20_0")).toEqual(["bbands_20_0: the band width K must be greater than 0"]);
    expect(valid("bbands_20_0.5")).toEqual([]);
  });

  it("needs at least one", () => {
    expect(messages("indicators.compute", { source: "p", indicators: [] })).not.toEqual([]);
  });

  it("indicatorOutputNames", () => {
    expect(indicatorOutputNames("macd_12_26_9")).toEqual([
      "macd_12_26_9",
      "macd_signal_12_26_9",
      "macd_hist_12_26_9",
    ]);
    expect(indicatorOutputNames("bbands_20_2")).toEqual([
      "bbands_upper_20_2",
      "bbands_middle_20_2",
      "bbands_lower_20_2",
    ]);
    expect(indicatorOutputNames("bbands_20_2.5")).toEqual([
      "bbands_upper_20_2.5",
      "bbands_middle_20_2.5",
      "bbands_lower_20_2.5",
    ]);
    expect(indicatorOutputNames("stoch_14_3_3")).toEqual(["stoch_k_14_3_3", "stoch_d_14_3_3"]);
    expect(indicatorOutputNames("sma_20")).toEqual(["sma_20"]);
    expect(indicatorOutputNames("obv")).toEqual(["obv"]);
  });
});

type Json = Record<string, unknown>;

// ajv-formats is CommonJS: under nodenext its types are the module namespace, at run time the
// default import is the plugin itself (node) or a wrapper holding it (vite).
type FormatsPlugin = (ajv: Ajv2020) => unknown;
const formatsModule = addFormatsModule as unknown as FormatsPlugin | { default: FormatsPlugin };
const addFormats = typeof formatsModule === "function" ? formatsModule : formatsModule.default;

/** JSON pointers of every schema in `node`, reached through a property, items or additionalProperties, that has no description. */
function undescribed(node: unknown, path: string, needsDescription: boolean, out: string[]): string[] {
  if (typeof node !== "object" || node === null) return out;
  const schema = node as Json;
  if (needsDescription && (typeof schema.description !== "string" || schema.description.trim() === "")) {
    out.push(path || "/");
  }
  for (const [key, child] of Object.entries((schema.properties as Json | undefined) ?? {})) {
    undescribed(child, `${path}/properties/${key}`, true, out);
  }
  const items = schema.items;
  if (Array.isArray(items)) {
    for (const [i, item] of items.entries()) undescribed(item, `${path}/items/${i}`, true, out);
  } else {
    undescribed(items, `${path}/items`, true, out);
  }
  if (typeof schema.additionalProperties === "object") {
    undescribed(schema.additionalProperties, `${path}/additionalProperties`, true, out);
  }
  // Members of a described union share its description; their own properties still need one.
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    const members = schema[key];
    if (!Array.isArray(members)) continue;
    for (const [i, member] of members.entries()) undescribed(member, `${path}/${key}/${i}`, false, out);
  }
  return out;
}

describe("JSON Schema", () => {
  it.each(builtinSteps.map((s) => [s.name, s] as const))(
    "%s: generates, every property described",
    (_, s) => {
      const schema = z.toJSONSchema(s.params, { target: "draft-2020-12", io: "input" }) as Json;
      expect(schema.type).toBe("object");
      expect(schema.additionalProperties).toBe(false);
      expect(undescribed(schema, "", false, [])).toEqual([]);
      // Fields with a default are optional in the input schema and show the default.
      const properties = schema.properties as Record<string, Json>;
      for (const [key, field] of Object.entries(s.params.shape)) {
        if ((field as z.ZodType).def.type === "default") {
          expect(properties[key]).toHaveProperty("default");
          expect(schema.required ?? []).not.toContain(key);
        }
      }
    },
  );

  it("compiles with ajv (draft 2020-12, strict mode, formats)", () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(ajv);
    for (const s of builtinSteps) {
      const validate = ajv.compile(z.toJSONSchema(s.params, { target: "draft-2020-12", io: "input" }));
      expect(validate(MINIMAL[s.name])).toBe(true);
      expect(validate({ ...MINIMAL[s.name], bogus: 1 })).toBe(false);
    }
  });

  it("the walker finds undescribed nested properties", () => {
    const bad = z.toJSONSchema(
      z.strictObject({ a: z.array(z.strictObject({ b: z.string() }).describe("x")).describe("y") }),
      { target: "draft-2020-12", io: "input" },
    );
    expect(undescribed(bad, "", false, [])).toEqual(["/properties/a/items/properties/b"]);
  });

  it("carries the patterns editors can check", () => {
    const polygon = z.toJSONSchema(step("polygon.daily_bars").params, {
      target: "draft-2020-12",
      io: "input",
    }) as Json;
    const props = polygon.properties as Record<string, Json>;
    expect(props.start?.pattern).toBe("^\\d{4}-\\d{2}-\\d{2}$");
    expect(props.timeout).toMatchObject({ default: "30s", pattern: "^(\\d+(ms|s|m|h|d|w))+$" });
    expect(props.base_url).toMatchObject({ default: "https://api.polygon.io", format: "uri" });
    expect(polygon.required).toEqual(["symbols"]);
    const indicators = z.toJSONSchema(step("indicators.compute").params, {
      target: "draft-2020-12",
      io: "input",
    });
    expect(JSON.stringify(indicators)).toContain(JSON.stringify(INDICATOR_PATTERN));
  });
});
