import { defineConfig } from "vitest/config";

/** `npm run test:e2e`: the single executable (`npm run build` first), copied alone to a temp folder. */
export default defineConfig({
  test: {
    include: ["tests/e2e/**/*.e2e.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: "forks",
    fileParallelism: false,
  },
});
