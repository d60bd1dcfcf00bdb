/** `tickflow work-pools ls`, `work-pool pause|resume NAME`. */
import { type ControlFlags, pauseCommand, withControl } from "./control.js";
import { formatTable } from "./output.js";

const limitText = (n: number | null) => (n === null ? "-" : String(n));

export async function workPoolsListCommand(options: ControlFlags & { json?: boolean }): Promise<number> {
  return withControl(options, "read", async (control) => {
    const pools = await control.listWorkPools();
    if (options.json) {
      process.stdout.write(`${JSON.stringify(pools, null, 2)}\n`);
      return 0;
    }
    const rows: string[][] = [];
    for (const p of pools) {
      rows.push([
        p.name,
        "",
        limitText(p.concurrency_limit),
        String(p.slots_in_use),
        String(p.queued),
        p.paused ? "yes" : "no",
      ]);
      for (const q of p.queues) {
        rows.push([
          `  ${q.name}`,
          String(q.priority),
          limitText(q.concurrency_limit),
          String(q.slots_in_use),
          String(q.queued),
          "",
        ]);
      }
    }
    process.stdout.write(
      formatTable(["POOL / QUEUE", "PRIORITY", "LIMIT", "IN USE", "QUEUED", "PAUSED"], rows),
    );
    return 0;
  });
}

export function workPoolPauseCommand(
  name: string,
  paused: boolean,
  options: ControlFlags & { json?: boolean },
): Promise<number> {
  return pauseCommand("work pool", name, paused, options, (control) =>
    control.setWorkPoolPaused(name, paused),
  );
}
