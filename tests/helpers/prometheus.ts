/**
 * Reading Prometheus text in tests, and `promtool` (Debian's `prometheus` package) when this
 * machine has it.
 */
import { spawnSync } from "node:child_process";

/**
 * The value of the sample `name` whose labels include `labels` (summed over the samples that
 * match, so a label left out adds them up); undefined when none matches.
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total = (total ?? 0) + Number(m[3]);
  }
  return total;
}

/** Whether `promtool` is on the PATH. */
export const hasPromtool = spawnSync("promtool", ["--version"], { stdio: "ignore" }).status === 0;

/** Runs `promtool` with `args` (and `input` on stdin); its exit code and output. */
export function promtool(args: string[], input?: string): { code: number | null; output: string } {
  const r = spawnSync("promtool", args, { input: input ?? "", encoding: "utf8" });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}
