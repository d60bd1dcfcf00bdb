import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir, tickflow } from "./helpers/cli.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

async function query<T>(db: string, sql: string): Promise<T[]> {
  const r = await tickflow(["query", "--db", db, "--json", sql]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T[];
}

// 2024-07-03 is an early close, 2024-07-04 a holiday; AAPL's 07-08 close is above its high.
const CSV = `symbol,date,open,high,low,close,volume
AAPL,2024-07-01,216.7,218.0,214.0,216.8,60000000
AAPL,2024-07-02,216.1,220.4,215.0,220.3,58000000
AAPL,2024-07-03,220.0,221.6,219.0,221.6,37000000
AAPL,2024-07-05,221.7,226.5,221.6,226.3,60000000
AAPL,2024-07-08,227.1,227.8,223.1,228.0,59000000
MSFT,2024-07-01,448.0,457.0,445.0,456.7,17000000
MSFT,2024-07-02,453.2,459.6,453.1,459.3,13000000
MSFT,2024-07-03,458.2,461.0,457.9,460.8,9900000
MSFT,2024-07-05,459.6,468.0,458.9,468.0,16000000
MSFT,2024-07-08,466.5,467.7,464.5,466.2,12000000
`;

describe("validate.ohlcv through the CLI", () => {
  it("loads a CSV with file.bars, validates it, records the findings and fails the task on an error", async () => {
    await mkdir(join(dir, "data"), { recursive: true });
    await writeFile(join(dir, "data", "bars.csv"), CSV);
    const file = join(dir, "validate.yaml");
    await writeFile(
      file,
      `kind: pipeline
name: validate-cli
tasks:
  load: {uses: file.bars, with: {path: data/bars.csv, source: sample}}
  check:
    uses: validate.ohlcv
    needs: [load]
    with: {source: sample, start: "2024-07-01", end: "2024-07-31"}
`,
    );
    const db = join(dir, "validate.duckdb");
    const r = await tickflow(["run", file, "--db", db, "--json"]);
    expect(r.code, r.stderr).toBe(1);
    const record = JSON.parse(r.stdout) as { id: string; state: string };
    expect(record.state).toBe("Failed");
    const [task] = await query<{ state: string; error: string }>(
      db,
      `SELECT state, error FROM task_runs WHERE run_id = '${record.id}' AND task_id = 'check'`,
    );
    expect(task?.state).toBe("Failed");
    expect(task?.error).toMatch(
      /validate\.ohlcv: 1 error finding\(s\) in source sample \(ohlc_consistency: 1\); e\.g\. ohlc_consistency AAPL 2024-07-08/,
    );
    expect(
      await query(
        db,
        `SELECT symbol, CAST(date AS VARCHAR) AS date, check_name, severity FROM quality_results WHERE run_id = '${record.id}'`,
      ),
    ).toEqual([{ symbol: "AAPL", date: "2024-07-08", check_name: "ohlc_consistency", severity: "error" }]);
    const logs = await query<{ message: string }>(
      db,
      `SELECT message FROM run_logs WHERE run_id = '${record.id}' AND task_id = 'check'`,
    );
    expect(logs.map((l) => l.message)).toContain(
      "validate.ohlcv: checked 10 bars of source sample (dates 2024-07-01 to 2024-07-31): 1 error(s), 0 warning(s) (ohlc_consistency 1)",
    );
  });
});
