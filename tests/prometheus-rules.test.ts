/**
 * deployment/prometheus: the scrape configuration and the alert rules the README shows, checked by
 * promtool (config, rules, and the rules' unit tests) when it is installed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO } from "./helpers/cli.js";
import { hasPromtool, promtool } from "./helpers/prometheus.js";

const DIR = join(REPO, "deployment/prometheus");

interface Rules {
  groups: { rules: { alert: string; expr: string }[] }[];
}

describe("deployment/prometheus", () => {
  it("alerts on data staleness of deployments that the example deployments file has", () => {
    const rules = parse(readFileSync(join(DIR, "tickflow-rules.yml"), "utf8")) as Rules;
    const stale = rules.groups[0]!.rules.find((r) => r.alert === "TickflowDataStale")!;
    const names = /deployment=~"([^"]+)"/.exec(stale.expr)![1]!.split("|");
    const deployments = parse(readFileSync(join(REPO, "deployment/tickflow.yaml"), "utf8")) as {
      deployments: { name: string }[];
    };
    expect(deployments.deployments.map((d) => d.name)).toEqual(expect.arrayContaining(names));
  });

  it("the README shows the rules' alerts and expressions as the file has them", () => {
    const alerts = (text: string) =>
      (parse(text) as Rules).groups.flatMap((g) => g.rules.map((r) => ({ alert: r.alert, expr: r.expr })));
    const readme = readFileSync(join(REPO, "README.md"), "utf8");
    const shown = [...readme.matchAll(/```yaml\n(groups:[\s\S]*?)```/g)].map((m) => m[1]!);
    expect(shown).toHaveLength(1);
    expect(alerts(shown[0]!)).toEqual(alerts(readFileSync(join(DIR, "tickflow-rules.yml"), "utf8")));
  });

  it.skipIf(!hasPromtool)(
    "promtool accepts the configuration and the rules, and the rules pass their tests",
    () => {
      for (const args of [
        ["check", "config", join(DIR, "prometheus.yml")],
        ["check", "rules", join(DIR, "tickflow-rules.yml")],
        ["test", "rules", join(DIR, "tickflow-rules.test.yml")],
      ]) {
        const r = promtool(args);
        expect(r.code, `promtool ${args.join(" ")}: ${r.output}`).toBe(0);
      }
    },
  );
});
