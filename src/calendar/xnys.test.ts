import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  assertXnysDate,
  closureReason,
  countSessions,
  earlyCloses,
  holidays,
  isSession,
  isValidIsoDate,
  nextSession,
  previousSession,
  sessionCloseInstant,
  sessionCloseTime,
  sessionOnOrBefore,
  sessionsBack,
  sessionsBetween,
  tradingDaysAgo,
  XNYS_TIMEZONE,
} from "./index.js";

const DAY_MS = 86_400_000;

/** Independent of the implementation's day arithmetic: walks dates with JS Date in UTC. */
function isoDaysInclusive(start: string, end: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${start}T00:00:00Z`); t <= Date.parse(`${end}T00:00:00Z`); t += DAY_MS) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

function utcWeekday(iso: string): number {
  return new Date(`${iso}T00:00:00Z`).getUTCDay();
}

const dates = (year: number, monthDays: string[]) => monthDays.map((md) => `${year}-${md}`);
const holidayDates = (year: number) => holidays(year).map((h) => h.date);
const earlyCloseDates = (year: number) => earlyCloses(year).map((e) => e.date);

describe("holidays() matches the NYSE published full-day closures", () => {
  const published: Record<number, string[]> = {
    2020: ["01-01", "01-20", "02-17", "04-10", "05-25", "07-03", "09-07", "11-26", "12-25"],
    2021: ["01-01", "01-18", "02-15", "04-02", "05-31", "07-05", "09-06", "11-25", "12-24"],
    // 2022-01-01 was a Saturday: not observed on Friday 2021-12-31 (NYSE Rule 7.2).
    2022: ["01-17", "02-21", "04-15", "05-30", "06-20", "07-04", "09-05", "11-24", "12-26"],
    2023: ["01-02", "01-16", "02-20", "04-07", "05-29", "06-19", "07-04", "09-04", "11-23", "12-25"],
    2024: ["01-01", "01-15", "02-19", "03-29", "05-27", "06-19", "07-04", "09-02", "11-28", "12-25"],
    2025: ["01-01", "01-09", "01-20", "02-17", "04-18", "05-26", "06-19", "07-04", "09-01", "11-27", "12-25"],
    2026: ["01-01", "01-19", "02-16", "04-03", "05-25", "06-19", "07-03", "09-07", "11-26", "12-25"],
  };

  for (const [year, monthDays] of Object.entries(published)) {
    it(`${year}`, () => {
      expect(holidayDates(Number(year))).toEqual(dates(Number(year), monthDays));
    });
  }

  it("names each closure", () => {
    expect(holidays(2025)).toEqual([
      { date: "2025-01-01", name: "New Year's Day" },
      { date: "2025-01-09", name: "National Day of Mourning for Jimmy Carter" },
      { date: "2025-01-20", name: "Martin Luther King Jr. Day" },
      { date: "2025-02-17", name: "Washington's Birthday" },
      { date: "2025-04-18", name: "Good Friday" },
      { date: "2025-05-26", name: "Memorial Day" },
      { date: "2025-06-19", name: "Juneteenth National Independence Day" },
      { date: "2025-07-04", name: "Independence Day" },
      { date: "2025-09-01", name: "Labor Day" },
      { date: "2025-11-27", name: "Thanksgiving Day" },
      { date: "2025-12-25", name: "Christmas Day" },
    ]);
  });

  it("every year 1990-2100 has only sorted, weekday closures within that year", () => {
    for (let year = 1990; year <= 2100; year++) {
      const list = holidayDates(year);
      expect(list.length).toBeGreaterThanOrEqual(8);
      expect([...list].sort()).toEqual(list);
      for (const date of list) {
        expect(date.startsWith(`${year}-`)).toBe(true);
        expect([1, 2, 3, 4, 5]).toContain(utcWeekday(date));
        expect(isSession(date)).toBe(false);
      }
    }
  });

  it("returns copies that callers cannot use to corrupt the cache", () => {
    const first = holidays(2024);
    first[0]!.name = "mutated";
    first.pop();
    expect(holidays(2024)[0]).toEqual({ date: "2024-01-01", name: "New Year's Day" });
    expect(holidays(2024)).toHaveLength(10);
  });
});

describe("earlyCloses() matches the NYSE published early closes", () => {
  const published: Record<number, string[]> = {
    2020: ["11-27", "12-24"], // July 3 was the observed Independence Day
    2021: ["11-26"], // no July 2 early close; Dec 24 was the observed Christmas
    2022: ["11-25"], // no early close on Dec 23
    2023: ["07-03", "11-24"],
    2024: ["07-03", "11-29", "12-24"],
    2025: ["07-03", "11-28", "12-24"],
    2026: ["11-27", "12-24"], // July 3 is the observed Independence Day
  };

  for (const [year, monthDays] of Object.entries(published)) {
    it(`${year}`, () => {
      const list = earlyCloses(Number(year));
      expect(list.map((e) => e.date)).toEqual(dates(Number(year), monthDays));
      expect(list.every((e) => e.close === "13:00")).toBe(true);
    });
  }

  it("names each early close", () => {
    expect(earlyCloses(2024)).toEqual([
      { date: "2024-07-03", close: "13:00", name: "Day before Independence Day" },
      { date: "2024-11-29", close: "13:00", name: "Day after Thanksgiving" },
      { date: "2024-12-24", close: "13:00", name: "Christmas Eve" },
    ]);
  });

  it("follows the historical rules before 2013", () => {
    // July 4 on a Thursday: before 2013 the early close was Friday July 5, since 2013 Wednesday July 3.
    expect(earlyCloseDates(2002)).toEqual(["2002-07-05", "2002-11-29", "2002-12-24"]);
    expect(sessionCloseTime("2002-07-03")).toBe("16:00");
    expect(earlyCloseDates(2013)).toEqual(["2013-07-03", "2013-11-29", "2013-12-24"]);
    expect(sessionCloseTime("2013-07-05")).toBe("16:00");
    // No July 3 early closes before 1995.
    expect(sessionCloseTime("1990-07-03")).toBe("16:00");
    // Early closes were at 14:00 until 1993; the day after Thanksgiving closed early from 1992.
    expect(earlyCloses(1992)).toEqual([
      { date: "1992-11-27", close: "14:00", name: "Day after Thanksgiving" },
      { date: "1992-12-24", close: "14:00", name: "Christmas Eve" },
    ]);
    expect(sessionCloseTime("1991-11-29")).toBe("16:00");
    // One-off day-after-Christmas early closes.
    expect(sessionCloseTime("1997-12-26")).toBe("13:00");
    expect(sessionCloseTime("2003-12-26")).toBe("13:00");
    expect(sessionCloseTime("2008-12-26")).toBe("16:00");
  });

  it("1995-2004 match exchange_calendars' XNYS (its tests/resources/xnys.csv), 1999-12-31 included", () => {
    // Every session of these years whose close in that file is not 16:00 New York time. 1999-12-31
    // (13:00) is in its special_closes_adhoc; tickflow said 16:00.
    expect(sessionCloseTime("1999-12-31")).toBe("13:00");
    expect(sessionCloseInstant("1999-12-31")?.toISOString()).toBe("1999-12-31T18:00:00.000Z");
    const early: string[] = [];
    for (let year = 1995; year <= 2004; year++) early.push(...earlyCloseDates(year));
    expect(early).toEqual([
      ...["1995-07-03", "1995-11-24"],
      ...["1996-07-05", "1996-11-29", "1996-12-24"],
      ...["1997-07-03", "1997-11-28", "1997-12-24", "1997-12-26"],
      ...["1998-11-27", "1998-12-24"],
      ...["1999-11-26", "1999-12-31"],
      ...["2000-07-03", "2000-11-24"],
      ...["2001-07-03", "2001-11-23", "2001-12-24"],
      ...["2002-07-05", "2002-11-29", "2002-12-24"],
      ...["2003-07-03", "2003-11-28", "2003-12-24", "2003-12-26"],
      "2004-11-26",
    ]);
  });

  it("every early close is a weekday session", () => {
    for (let year = 1990; year <= 2100; year++) {
      for (const { date } of earlyCloses(year)) {
        expect(isSession(date)).toBe(true);
        expect(sessionCloseTime(date)).not.toBe("16:00");
      }
    }
  });
});

describe("closureReason / isSession", () => {
  it("names special closures", () => {
    expect(closureReason("1994-04-27")).toBe("National Day of Mourning for Richard Nixon");
    for (const date of ["2001-09-11", "2001-09-12", "2001-09-13", "2001-09-14"]) {
      expect(closureReason(date)).toBe("September 11 attacks");
    }
    expect(isSession("2001-09-10")).toBe(true);
    expect(isSession("2001-09-17")).toBe(true);
    expect(closureReason("2004-06-11")).toBe("National Day of Mourning for Ronald Reagan");
    expect(closureReason("2007-01-02")).toBe("National Day of Mourning for Gerald Ford");
    expect(closureReason("2012-10-29")).toBe("Hurricane Sandy");
    expect(closureReason("2012-10-30")).toBe("Hurricane Sandy");
    expect(isSession("2012-10-31")).toBe(true);
    expect(closureReason("2018-12-05")).toBe("National Day of Mourning for George H.W. Bush");
    expect(closureReason("2025-01-09")).toBe("National Day of Mourning for Jimmy Carter");
  });

  it("distinguishes weekends, holidays and sessions", () => {
    expect(closureReason("2024-07-06")).toBe("Weekend");
    expect(closureReason("2024-07-07")).toBe("Weekend");
    expect(closureReason("2020-07-04")).toBe("Weekend"); // the holiday itself was observed on Friday
    expect(closureReason("2020-07-03")).toBe("Independence Day");
    expect(closureReason("2024-03-29")).toBe("Good Friday");
    expect(closureReason("2024-07-05")).toBeUndefined();
    expect(isSession("2024-07-05")).toBe(true);
    expect(isSession("2024-07-06")).toBe(false);
    expect(isSession("2024-12-25")).toBe(false);
  });

  it("applies rule start dates and observance rules", () => {
    expect(isSession("2021-12-31")).toBe(true); // New Year's Day on Saturday is not observed on Friday
    expect(isSession("2010-12-31")).toBe(true);
    expect(closureReason("2023-01-02")).toBe("New Year's Day"); // Sunday -> Monday
    expect(isSession("1997-01-20")).toBe(true); // MLK Day only from 1998
    expect(closureReason("1998-01-19")).toBe("Martin Luther King Jr. Day");
    expect(isSession("2021-06-18")).toBe(true); // Juneteenth only from 2022
    expect(closureReason("2022-06-20")).toBe("Juneteenth National Independence Day"); // Sunday -> Monday
    expect(closureReason("2027-06-18")).toBe("Juneteenth National Independence Day"); // Saturday -> Friday
    expect(closureReason("2021-12-24")).toBe("Christmas Day"); // Saturday -> Friday
    expect(closureReason("2022-12-26")).toBe("Christmas Day"); // Sunday -> Monday
    expect(closureReason("2038-04-23")).toBe("Good Friday"); // Easter 2038-04-25, the latest possible
    expect(closureReason("2008-03-21")).toBe("Good Friday"); // Easter 2008-03-23
  });

  it("counts sessions per year", () => {
    const expected: Record<number, number> = {
      2001: 248,
      2008: 253,
      2012: 250,
      2020: 253,
      2021: 252,
      2022: 251,
      2023: 250,
      2024: 252,
      2025: 250,
      2026: 251,
    };
    for (const [year, count] of Object.entries(expected)) {
      expect(countSessions(`${year}-01-01`, `${year}-12-31`), year).toBe(count);
      expect(sessionsBetween(`${year}-01-01`, `${year}-12-31`), year).toHaveLength(count);
    }
  });

  it("never treats a weekend day as a session (1990-2100)", () => {
    for (const date of isoDaysInclusive("1990-01-01", "2100-12-31")) {
      const wd = utcWeekday(date);
      if (wd === 0 || wd === 6) {
        expect(isSession(date)).toBe(false);
        expect(closureReason(date)).toBe("Weekend");
      }
    }
  });
});

describe("navigation", () => {
  it("nextSession / previousSession cross long weekends and holidays", () => {
    expect(nextSession("2024-11-27")).toBe("2024-11-29"); // Thanksgiving
    expect(nextSession("2024-08-30")).toBe("2024-09-03"); // Labor Day weekend
    expect(previousSession("2024-09-03")).toBe("2024-08-30");
    expect(nextSession("2024-03-28")).toBe("2024-04-01"); // Good Friday
    expect(nextSession("2023-12-29")).toBe("2024-01-02"); // year boundary + New Year's Day
    expect(previousSession("2024-01-02")).toBe("2023-12-29");
    expect(previousSession("2025-01-10")).toBe("2025-01-08"); // Carter day of mourning
    expect(nextSession("2024-06-15")).toBe("2024-06-17"); // from a Saturday
    expect(previousSession("2024-06-16")).toBe("2024-06-14"); // from a Sunday
    expect(nextSession("2024-12-31", 1)).toBe("2025-01-02");
    expect(nextSession("2024-12-31", 2)).toBe("2025-01-03");
    expect(previousSession("2025-01-03", 2)).toBe("2024-12-31");
    expect(nextSession("2001-09-10")).toBe("2001-09-17");
  });

  it("jumps many sessions across years", () => {
    expect(nextSession("2023-12-29", 252)).toBe("2024-12-31"); // 2024 had 252 sessions
    expect(previousSession("2024-01-02", 250)).toBe("2023-01-03"); // 2023 had 250 sessions
    expect(nextSession("1990-01-02", countSessions("1990-01-03", "2100-12-31"))).toBe("2100-12-31");
  });

  it("sessionOnOrBefore", () => {
    expect(sessionOnOrBefore("2024-07-05")).toBe("2024-07-05");
    expect(sessionOnOrBefore("2024-07-04")).toBe("2024-07-03");
    expect(sessionOnOrBefore("2024-07-07")).toBe("2024-07-05");
    expect(sessionOnOrBefore("2024-01-01")).toBe("2023-12-29");
  });

  it("sessionsBack spans a holiday", () => {
    // Sessions: Jul 1, 2, 3, (4 closed), 5, 8.
    expect(sessionsBack("2024-07-08", 5)).toEqual({ start: "2024-07-01", end: "2024-07-08" });
    expect(sessionsBack("2024-07-07", 3)).toEqual({ start: "2024-07-02", end: "2024-07-05" });
    expect(sessionsBack("2024-07-04", 1)).toEqual({ start: "2024-07-03", end: "2024-07-03" });
    // Across the year boundary and New Year's Day: Jan 3, Jan 2, Dec 29, Dec 28.
    expect(sessionsBack("2024-01-03", 4)).toEqual({ start: "2023-12-28", end: "2024-01-03" });
    expect(sessionsBetween("2024-07-01", "2024-07-08")).toEqual([
      "2024-07-01",
      "2024-07-02",
      "2024-07-03",
      "2024-07-05",
      "2024-07-08",
    ]);
  });

  it("tradingDaysAgo counts from the session on or before the date", () => {
    expect(tradingDaysAgo("2024-07-06", 0)).toBe("2024-07-05"); // Saturday
    expect(tradingDaysAgo("2024-07-06", 1)).toBe("2024-07-03");
    expect(tradingDaysAgo("2024-07-05", 0)).toBe("2024-07-05");
    expect(tradingDaysAgo("2024-07-05", 2)).toBe("2024-07-02");
    expect(tradingDaysAgo("2024-01-01", 0)).toBe("2023-12-29");
  });

  it("sessionsBetween / countSessions handle empty and reversed ranges", () => {
    expect(sessionsBetween("2024-07-06", "2024-07-07")).toEqual([]);
    expect(countSessions("2024-07-06", "2024-07-07")).toBe(0);
    expect(sessionsBetween("2024-07-08", "2024-07-01")).toEqual([]);
    expect(countSessions("2024-07-08", "2024-07-01")).toBe(0);
    expect(sessionsBetween("2025-01-02", "2024-01-02")).toEqual([]);
    expect(countSessions("2025-01-02", "2024-01-02")).toBe(0);
    expect(sessionsBetween("2024-07-05", "2024-07-05")).toEqual(["2024-07-05"]);
  });

  it("agrees with a brute-force walk over random ranges", () => {
    const firstDay = Date.UTC(1990, 0, 1) / DAY_MS;
    const lastDay = Date.UTC(2100, 11, 31) / DAY_MS;
    const isoOf = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
    fc.assert(
      fc.property(
        fc.integer({ min: firstDay, max: lastDay }),
        fc.integer({ min: 0, max: 4000 }),
        (startDay, length) => {
          const start = isoOf(startDay);
          const end = isoOf(Math.min(lastDay, startDay + length));
          const expected = isoDaysInclusive(start, end).filter((d) => isSession(d));
          expect(sessionsBetween(start, end)).toEqual(expected);
          expect(countSessions(start, end)).toBe(expected.length);
          if (expected.length >= 2) {
            const first = expected[0]!;
            const last = expected[expected.length - 1]!;
            expect(nextSession(first, expected.length - 1)).toBe(last);
            expect(previousSession(last, expected.length - 1)).toBe(first);
            expect(sessionsBack(end, expected.length)).toEqual({ start: first, end: last });
            expect(tradingDaysAgo(end, expected.length - 1)).toBe(first);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("close times", () => {
  it("sessionCloseTime", () => {
    expect(sessionCloseTime("2024-07-02")).toBe("16:00");
    expect(sessionCloseTime("2024-07-03")).toBe("13:00");
    expect(sessionCloseTime("2024-07-04")).toBeUndefined();
    expect(sessionCloseTime("2024-07-06")).toBeUndefined();
  });

  it("sessionCloseInstant converts New York local time in EST and EDT", () => {
    expect(XNYS_TIMEZONE).toBe("America/New_York");
    expect(sessionCloseInstant("2024-01-02")?.toISOString()).toBe("2024-01-02T21:00:00.000Z"); // EST
    expect(sessionCloseInstant("2024-07-01")?.toISOString()).toBe("2024-07-01T20:00:00.000Z"); // EDT
    expect(sessionCloseInstant("2024-11-29")?.toISOString()).toBe("2024-11-29T18:00:00.000Z"); // early, EST
    expect(sessionCloseInstant("2024-07-03")?.toISOString()).toBe("2024-07-03T17:00:00.000Z"); // early, EDT
    // Around the 2024 DST switches (Mar 10 and Nov 3).
    expect(sessionCloseInstant("2024-03-08")?.toISOString()).toBe("2024-03-08T21:00:00.000Z");
    expect(sessionCloseInstant("2024-03-11")?.toISOString()).toBe("2024-03-11T20:00:00.000Z");
    expect(sessionCloseInstant("2024-11-01")?.toISOString()).toBe("2024-11-01T20:00:00.000Z");
    expect(sessionCloseInstant("2024-11-04")?.toISOString()).toBe("2024-11-04T21:00:00.000Z");
    expect(sessionCloseInstant("2024-07-04")).toBeUndefined();
  });
});

describe("validation", () => {
  it("isValidIsoDate", () => {
    expect(isValidIsoDate("2024-02-29")).toBe(true);
    expect(isValidIsoDate("2000-02-29")).toBe(true);
    expect(isValidIsoDate("2100-02-29")).toBe(false);
    expect(isValidIsoDate("2023-02-29")).toBe(false);
    expect(isValidIsoDate("2024-04-31")).toBe(false);
    expect(isValidIsoDate("2024-13-01")).toBe(false);
    expect(isValidIsoDate("2024-00-10")).toBe(false);
    expect(isValidIsoDate("2024-01-00")).toBe(false);
    expect(isValidIsoDate("2024-1-02")).toBe(false);
    expect(isValidIsoDate("20240102")).toBe(false);
    expect(isValidIsoDate("2024-01-02T00:00:00Z")).toBe(false);
    expect(isValidIsoDate(" 2024-01-02")).toBe(false);
    expect(isValidIsoDate("2024/01/02")).toBe(false);
    expect(isValidIsoDate("")).toBe(false);
    expect(isValidIsoDate(20240102 as unknown as string)).toBe(false);
    expect(isValidIsoDate("1850-06-01")).toBe(true); // valid date, even though outside the calendar's range
  });

  it("throws a RangeError naming the bad value", () => {
    for (const bad of ["2024-02-30", "2024-1-02", "", "2024-01-02 ", "tomorrow"]) {
      expect(() => isSession(bad)).toThrow(RangeError);
      expect(() => isSession(bad)).toThrow(JSON.stringify(bad));
    }
    expect(() => nextSession("2024-02-30")).toThrow(/invalid date "2024-02-30"/);
    expect(() => sessionsBetween("2024-01-01", "2024-13-01")).toThrow(/"2024-13-01"/);
    expect(() => sessionCloseInstant("nope")).toThrow(RangeError);
    expect(() => isSession(undefined as unknown as string)).toThrow(RangeError);
  });

  it("rejects dates and years outside 1990-2100", () => {
    expect(() => isSession("1989-12-29")).toThrow(/1989-12-29.*1990-2100/);
    expect(() => isSession("2101-01-03")).toThrow(RangeError);
    expect(() => holidays(1989)).toThrow(RangeError);
    expect(() => earlyCloses(2101)).toThrow(RangeError);
    expect(() => holidays(2024.5)).toThrow(RangeError);
    expect(() => nextSession("2100-12-31")).toThrow(/outside the supported range/);
    expect(() => previousSession("1990-01-02")).toThrow(/outside the supported range/);
    expect(() => sessionOnOrBefore("1990-01-01")).toThrow(RangeError);
    expect(nextSession("2100-12-30")).toBe("2100-12-31");
    expect(previousSession("1990-01-03")).toBe("1990-01-02");
  });

  it("assertXnysDate throws what the other functions would", () => {
    expect(() => assertXnysDate("2024-01-02")).not.toThrow();
    expect(() => assertXnysDate("1980-01-01")).toThrow(
      'XNYS calendar: date "1980-01-01" is outside the supported range 1990-2100',
    );
    expect(() => assertXnysDate("2024-02-30")).toThrow(RangeError);
  });

  it("rejects bad counts", () => {
    expect(() => nextSession("2024-01-02", 0)).toThrow(RangeError);
    expect(() => previousSession("2024-01-02", 1.5)).toThrow(RangeError);
    expect(() => sessionsBack("2024-01-02", 0)).toThrow(RangeError);
    expect(() => tradingDaysAgo("2024-01-02", -1)).toThrow(RangeError);
  });
});
