import { randomFillSync } from "node:crypto";

/**
 * Run ids: UUIDv7 (RFC 9562) in its usual string form, e.g. `01920f3c-5a7e-7b3d-9c41-6f0a2d8e4b17`.
 * The first 48 bits are the Unix time in milliseconds, so ids sort by creation time (as strings
 * too), and rows appended in run order keep DuckDB's zone maps on `run_id` tight. Within one
 * millisecond a 12-bit counter (`rand_a`, RFC 9562 method 1) keeps the ids of this process strictly
 * increasing; the remaining 62 bits are random. Note that ids made close together share a long
 * prefix: to shorten one for display, keep its end.
 */
let lastMs = -1;
let counter = 0;
const random = Buffer.alloc(8);

export function newRunId(now: number = Date.now()): string {
  let ms = Math.max(now, lastMs);
  if (ms === lastMs) {
    counter++;
    if (counter > 0xfff) {
      // 4096 ids in one millisecond: borrow the next one (the clock catches up).
      ms++;
      counter = 0;
    }
  } else {
    randomFillSync(random, 0, 2);
    counter = random.readUInt16BE(0) & 0x7ff; // start low enough to leave room to count
  }
  lastMs = ms;
  randomFillSync(random);
  const hex = (value: number, digits: number) => value.toString(16).padStart(digits, "0");
  const timeHigh = Math.floor(ms / 0x10000); // top 32 bits of the 48-bit timestamp
  const timeLow = ms % 0x10000;
  const variantHigh = 0x8000 | (random.readUInt16BE(0) & 0x3fff); // variant 10xx
  return [
    hex(timeHigh, 8),
    hex(timeLow, 4),
    hex(0x7000 | counter, 4),
    hex(variantHigh, 4),
    random.subarray(2, 8).toString("hex"),
  ].join("-");
}

const UUID_V7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** True for a string in the form `newRunId` makes. */
export function isRunId(text: string): boolean {
  return UUID_V7_RE.test(text);
}

/** When a run id was made (its 48-bit timestamp), or undefined for other strings. */
export function runIdTime(id: string): Date | undefined {
  if (!isRunId(id)) return undefined;
  return new Date(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16));
}
