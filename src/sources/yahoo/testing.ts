/** Test helper: the API body of a recorded Yahoo fixture (a yahoo-finance2 fetch-cache envelope). */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const FIXTURES = fileURLToPath(new URL("../../../tests/fixtures/yahoo/", import.meta.url));

/** `response.bodyJson` of `tests/fixtures/yahoo/<name>`. */
export function yahooFixtureBody(name: string): unknown {
  const envelope = JSON.parse(readFileSync(`${FIXTURES}${name}`, "utf8")) as {
    response?: { bodyJson?: unknown };
  };
  if (envelope.response?.bodyJson === undefined) throw new Error(`${name}: no response.bodyJson`);
  return envelope.response.bodyJson;
}
