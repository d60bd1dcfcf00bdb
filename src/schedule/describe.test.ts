import { describe, expect, it } from "vitest";
import { describeCron, describeSchedule } from "./describe.js";

describe("schedules in words", () => {
  it("spells out common cron shapes and keeps the rest as the expression", () => {
    expect(describeSchedule({ cron: "30 17 * * 1-5", timezone: "America/New_York", calendar: "XNYS" })).toBe(
      "at 17:30 on Monday to Friday, America/New_York, XNYS sessions only",
    );
    expect(describeCron("0 9,15 * * 1,3,5")).toBe("at 09:00 and 15:00 on Monday, Wednesday and Friday");
    expect(describeCron("*/15 * * * *")).toBe("every 15 minutes every day");
    expect(describeCron("0 6 1 * *")).toBe("at 06:00 on day 1 of the month");
    expect(describeCron("0 6 * * sat")).toBe("at 06:00 on Saturday");
    expect(describeSchedule({ cron: "0 9 L * *" })).toBe('cron "0 9 L * *", UTC');
    expect(describeSchedule({ interval: "1h" })).toBe("every 1h, UTC");
    expect(describeSchedule({ rrule: "FREQ=WEEKLY;BYDAY=SA;BYHOUR=9" })).toMatch(/^every week on Saturday/);
  });
});
