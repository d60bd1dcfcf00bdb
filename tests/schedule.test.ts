import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyExamples, tickflowHere as tickflow } from "./helpers/cli.js";

interface Explained {
  deployment: string;
  from: string;
  schedules: {
    index: number;
    id: string;
    trigger: string;
    timezone: string;
    calendar: string | null;
    active: boolean;
    fires: { at: string; local: string; notes: string[] }[];
    skipped: { at: string; local: string; reason: string }[];
  }[];
}

describe("tickflow schedule explain", () => {
  it("polygon-daily around Good Friday 2026 and the March DST change, as text", async () => {
    const r = await tickflow([
      "schedule",
      "explain",
      "polygon-daily",
      "--from",
      "2026-03-30T00:00:00Z",
      "--next",
      "6",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("deployment polygon-daily: next fire times after 2026-03-30T00:00:00Z");
    expect(r.stdout).toContain('schedule 1: cron "30 17 * * 1-5" in America/New_York, XNYS sessions only');
    expect(
      lines.filter((l) => /^ {2}\w{3} \d{4}-/.test(l)).map((l) => l.trim().replace(/\s+/g, " ")),
    ).toEqual([
      "Mon 2026-03-30 17:30 EDT 2026-03-30T21:30:00Z",
      "Tue 2026-03-31 17:30 EDT 2026-03-31T21:30:00Z",
      "Wed 2026-04-01 17:30 EDT 2026-04-01T21:30:00Z",
      "Thu 2026-04-02 17:30 EDT 2026-04-02T21:30:00Z",
      "Fri 2026-04-03 17:30 EDT skipped: Good Friday",
      "Mon 2026-04-06 17:30 EDT 2026-04-06T21:30:00Z",
      "Tue 2026-04-07 17:30 EDT 2026-04-07T21:30:00Z",
    ]);
  });

  it("--json: the same, structured; UTC shifts by an hour across DST while local stays 17:30", async () => {
    const r = await tickflow([
      "schedule",
      "explain",
      "yahoo-daily",
      "--from",
      "2026-03-05T12:00:00Z",
      "--next",
      "3",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const e = JSON.parse(r.stdout) as Explained;
    expect(e.deployment).toBe("yahoo-daily");
    expect(e.from).toBe("2026-03-05T12:00:00.000Z");
    expect(e.schedules).toHaveLength(1);
    expect(e.schedules[0]!.id).toMatch(/^s-[0-9a-f]{16}$/);
    expect(e.schedules[0]!.fires.map((f) => [f.local, f.at])).toEqual([
      ["2026-03-05T17:45:00-05:00", "2026-03-05T22:45:00.000Z"],
      ["2026-03-06T17:45:00-05:00", "2026-03-06T22:45:00.000Z"],
      ["2026-03-09T17:45:00-04:00", "2026-03-09T21:45:00.000Z"],
    ]);
  });

  it("every schedule of a deployment, and inactive ones say so", async () => {
    const both = JSON.parse(
      (
        await tickflow([
          "schedule",
          "explain",
          "indicators",
          "--from",
          "2026-01-01T00:00:00Z",
          "--next",
          "2",
          "--json",
        ])
      ).stdout,
    ) as Explained;
    expect(both.schedules.map((s) => s.fires.map((f) => f.local))).toEqual([
      ["2026-01-02T18:30:00-05:00", "2026-01-05T18:30:00-05:00"],
      ["2026-01-02T18:45:00-05:00", "2026-01-05T18:45:00-05:00"],
    ]);
    expect(both.schedules.map((s) => s.skipped.map((k) => k.reason))).toEqual([
      ["New Year's Day"],
      ["New Year's Day"],
    ]);
    const demo = await tickflow(["schedule", "explain", "demo-hourly", "--from", "2026-01-01T00:00:00Z"]);
    expect(demo.code).toBe(0);
    expect(demo.stdout).toContain("inactive: creates no runs");
  });

  it("unknown NAME: a clear error listing the names, exit 1", async () => {
    const r = await tickflow(["schedule", "explain", "polygon-dialy"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('no deployment "polygon-dialy" in deployment/tickflow.yaml');
    expect(r.stderr).toContain(
      "polygon-daily, yahoo-daily, validation, indicators, weekly-cleanup, demo-hourly",
    );
  });

  it("bad --from or --next: usage error, exit 2", async () => {
    expect((await tickflow(["schedule", "explain", "polygon-daily", "--from", "tomorrow"])).code).toBe(2);
    expect((await tickflow(["schedule", "explain", "polygon-daily", "--next", "-1"])).code).toBe(2);
  });

  describe("DST notes and holidays in a copy of the examples", () => {
    let dir = "";
    let cleanup: () => Promise<void> = async () => {};
    beforeAll(async () => {
      ({ dir, cleanup } = await copyExamples());
      await appendFile(
        join(dir, "deployment", "tickflow.yaml"),
        `
  - name: night-jobs
    pipeline: ../pipelines/demo.yaml
    schedules:
      - {cron: "30 2 * * *", timezone: America/New_York}
      - {cron: "30 1 * * *", timezone: America/New_York}
      - {cron: "30 17 * * *", timezone: America/New_York, calendar: XNYS}
    work_pool: {name: maintenance}
`,
      );
    });
    afterAll(() => cleanup());

    it("prints the DST notes and the skipped holidays and weekends", async () => {
      const file = join(dir, "deployment", "tickflow.yaml");
      const spring = await tickflow([
        "schedule",
        "explain",
        "night-jobs",
        "--file",
        file,
        "--from",
        "2026-03-07T12:00:00Z",
        "--next",
        "2",
      ]);
      expect(spring.stderr).toBe("");
      expect(spring.code).toBe(0);
      expect(spring.stdout).toContain("Sun 2026-03-08 03:00 EDT");
      expect(spring.stdout).toContain("note: DST starts: 02:30 does not exist, fired at 03:00 EDT");

      const fall = await tickflow([
        "schedule",
        "explain",
        "night-jobs",
        "--file",
        file,
        "--from",
        "2026-10-31T12:00:00Z",
        "--next",
        "2",
        "--json",
      ]);
      const e = JSON.parse(fall.stdout) as Explained;
      expect(e.schedules[1]!.fires[0]).toMatchObject({
        local: "2026-11-01T01:30:00-04:00",
        at: "2026-11-01T05:30:00.000Z",
      });
      expect(e.schedules[1]!.fires[0]!.notes[0]).toMatch(/^DST ends: 01:30 occurs twice/);
      expect(e.schedules[1]!.fires[1]!.local).toBe("2026-11-02T01:30:00-05:00");

      const thanksgiving = JSON.parse(
        (
          await tickflow([
            "schedule",
            "explain",
            "night-jobs",
            "--file",
            file,
            "--from",
            "2026-11-25T12:00:00Z",
            "--next",
            "2",
            "--json",
          ])
        ).stdout,
      ) as Explained;
      expect(thanksgiving.schedules[2]!.fires.map((f) => f.local.slice(0, 10))).toEqual([
        "2026-11-25",
        "2026-11-27",
      ]);
      expect(thanksgiving.schedules[2]!.skipped.map((k) => [k.local.slice(0, 10), k.reason])).toEqual([
        ["2026-11-26", "Thanksgiving Day"],
      ]);
    });
  });
});
