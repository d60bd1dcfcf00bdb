import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "tests/**/*.test.ts"],
    testTimeout: 30_000,
    pool: "forks",
    // Two files at a time on the 2-core machines: much of the suite waits on child processes,
    // servers and timers (vitest's default there is one).
    maxWorkers: 2,
    globalSetup: ["tests/setup/postgres.ts"],
  },
});
