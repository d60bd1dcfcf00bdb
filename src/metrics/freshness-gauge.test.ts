import { describe, expect, it } from "vitest";
import { createDaemonMetrics } from "./daemon-metrics.js";

describe("tickflow_data_freshness_seconds", () => {
  it("shows each source's overdue seconds from the database read, and drops sources no rule names", async () => {
    let freshness = new Map([
      ["polygon", 660],
      ["yahoo", 0],
    ]);
    const metrics = createDaemonMetrics({
      version: "test",
      runsActive: () => 0,
      runsLimit: 1,
      read: async () => ({ pools: [], deployments: [], freshness }),
    });
    try {
      let text = await metrics.scrape();
      expect(text).toContain('tickflow_data_freshness_seconds{source="polygon"} 660');
      expect(text).toContain('tickflow_data_freshness_seconds{source="yahoo"} 0');
      freshness = new Map([["yahoo", 5]]);
      text = await metrics.scrape();
      expect(text).not.toContain('source="polygon"');
      expect(text).toContain('tickflow_data_freshness_seconds{source="yahoo"} 5');
    } finally {
      metrics.close();
    }
  });
});
