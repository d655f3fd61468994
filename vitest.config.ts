import { defineConfig } from "vitest/config";

// 2-core machines: two forked workers; every test file starts its own redis-server on a free port,
// so files never share state.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    env: { LOG_LEVEL: "silent" },
  },
});
