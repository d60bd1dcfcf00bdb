/**
 * Notifications on PostgreSQL through two real daemons sharing the database: a run that fails
 * (started through either one's API) reaches the receiver exactly once, with its error and its
 * link, and both daemons' APIs show the delivery.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startWebhookReceiver, type WebhookReceiver } from "../src/notify/testing.js";
import { tempDir } from "./helpers/cli.js";
import { api, type Daemon, spawnDaemon, waitFor } from "./helpers/daemon.js";
import { pgDescribe } from "./helpers/postgres.js";

// A cast that fails with the vendor's words in PostgreSQL's message (and DuckDB's).
const FLAKY = `kind: pipeline
name: flaky
tasks:
  fetch:
    uses: sql
    with: {query: "SELECT CAST('vendor answered 500 for AAPL' AS integer) AS n"}
`;

pgDescribe("notifications on PostgreSQL, two daemons", (server) => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let slack: WebhookReceiver;
  const daemons: Daemon[] = [];
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    slack = await startWebhookReceiver();
    mkdirSync(join(dir, "pipelines"));
    mkdirSync(join(dir, "deployment"));
    writeFileSync(join(dir, "pipelines/flaky.yaml"), FLAKY);
    writeFileSync(
      join(dir, "deployment/tickflow.yaml"),
      `kind: deployments
deployments:
  - {name: flaky, pipeline: ../pipelines/flaky.yaml}
channels:
  ops-slack: {type: slack, url: "\${{ env.SLACK_WEBHOOK_URL }}"}
notifications:
  - {on: [Failed], deployments: [flaky], to: [ops-slack]}
`,
    );
  });
  afterAll(async () => {
    for (const d of daemons) {
      d.child.kill("SIGTERM");
      await d.exited;
    }
    await slack?.close();
    await cleanup?.();
  });

  it("a failed run is announced exactly once, whichever daemon ran it", { timeout: 60_000 }, async () => {
    const env = {
      SLACK_WEBHOOK_URL: `${slack.url}/T0/B0/secret-part`,
      TICKFLOW_PUBLIC_URL: "http://console.test:4200",
    };
    daemons.push(await spawnDaemon(dir, server.url(), env, ["--name", "a"]));
    daemons.push(await spawnDaemon(dir, server.url(), env, ["--name", "b"]));
    const [a, b] = daemons as [Daemon, Daemon];
    const started = await api(b, "POST", "/api/deployments/flaky/runs");
    expect(started.status).toBe(201);
    const id = String(started.json.id);
    await waitFor("the Failed notification", async () => (slack.requests.length >= 1 ? true : undefined));
    // Another few passes of both senders: still one.
    await new Promise((r) => setTimeout(r, 2500));
    expect(slack.requests).toHaveLength(1);
    const body = slack.requests[0]!.body as { text: string; blocks: unknown[] };
    expect(body.text).toContain("flaky Failed");
    expect(body.text).toContain(`http://console.test:4200/runs/${id}`);
    expect(JSON.stringify(body.blocks)).toContain("vendor answered 500 for AAPL");
    for (const d of [a, b]) {
      const told = await api(d, "GET", `/api/runs/${id}/notifications`);
      expect(told.status).toBe(200);
      expect(told.json).toEqual([
        expect.objectContaining({ event: "Failed", channel: "ops-slack", delivered_at: expect.any(String) }),
      ]);
    }
  });
});
