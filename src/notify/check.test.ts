import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadDeployments } from "../schedule/load.js";
import { builtinSteps } from "../steps/index.js";
import { tempDir } from "../store/testing.js";

const { dir, cleanup } = tempDir();
afterAll(cleanup);
mkdirSync(join(dir, "pipelines"));
writeFileSync(
  join(dir, "pipelines/p.yaml"),
  "kind: pipeline\nname: p\ntasks:\n  hello: {uses: log, with: {message: hi}}\n",
);

const HEAD = `kind: deployments
deployments:
  - {name: polygon-daily, pipeline: pipelines/p.yaml}
`;

async function check(text: string) {
  const file = join(dir, `d${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, HEAD + text);
  const loaded = await loadDeployments(file, builtinSteps);
  return loaded.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`);
}

describe("notification parts of a deployments file", () => {
  it("accepts the documented shape", async () => {
    const problems = await check(`channels:
  ops-slack: {type: slack, url: "\${{ env.SLACK_WEBHOOK_URL }}"}
  ops-hook:  {type: webhook, url: "\${{ env.OPS_WEBHOOK_URL }}", headers: {X-Team: data}}
  ops-mail:  {type: email, to: [ops@example.com], from: tickflow@example.com,
              smtp: {host: smtp.example.com, port: 587, tls: starttls,
                     user: "\${{ env.SMTP_USER }}", password: "\${{ env.SMTP_PASSWORD }}"}}
notifications:
  - {on: [Failed, Crashed, Late, Recovered], deployments: [polygon-daily], to: [ops-slack, ops-mail]}
  - {on_quality: error, to: [ops-hook]}
freshness:
  - {source: polygon, by: "18:30", timezone: America/New_York, calendar: XNYS, to: [ops-slack]}
`);
    expect(problems).toEqual([]);
  });

  it("names each problem at its line and column", async () => {
    const problems = await check(`channels:
  ops-slack: {type: slack, url: "https://hooks.slack.com/services/T/B/x"}
  ops-hook:  {type: webhook, url: "\${{ env.H }}", headers: {Authorization: "Bearer abc"}}
  ops-mail:  {type: email, to: [not-an-address], from: tickflow@example.com,
              smtp: {host: h, user: smtpuser, password: hunter22}}
notifications:
  - {on: [Failed], deployments: [polygon-dayly], to: [ops-slak]}
  - {to: [ops-hook]}
freshness:
  - {source: polygon, by: "18:30", timezone: America/New_Yrok, to: [nowhere]}
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^5:33 channel "ops-slack": "url" holds a literal secret.*OPS_SLACK_URL/),
        expect.stringMatching(/^6:76 header "Authorization" holds a literal secret/),
        expect.stringMatching(/^7:33 "not-an-address" is not an email address/),
        expect.stringMatching(/^8:37 channel "ops-mail": "user" holds a literal secret/),
        expect.stringMatching(/^8:57 channel "ops-mail": "password" holds a literal secret/),
        expect.stringMatching(/^10:34 unknown deployment "polygon-dayly" \(did you mean "polygon-daily"\?\)/),
        expect.stringMatching(/^10:55 unknown channel "ops-slak" \(did you mean "ops-slack"\?\)/),
        expect.stringMatching(/^11:5 a notification rule needs `on`/),
        expect.stringMatching(/^13:46 unknown time zone "America\/New_Yrok"/),
        expect.stringMatching(/^13:69 unknown channel "nowhere"/),
      ]),
    );
    expect(problems).toHaveLength(10);
  });

  it("refuses an unknown channel type and a state that is not notifiable", async () => {
    const problems = await check(`channels:
  x: {type: pager, url: "\${{ env.X }}"}
notifications:
  - {on: [Completed], to: [x]}
`);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join("\n")).toMatch(/^5:/m);
    expect(problems.join("\n")).toMatch(/^7:/m);
  });
});
