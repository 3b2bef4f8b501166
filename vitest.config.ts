import { defineConfig } from "vitest/config";

// One run over the whole workspace. Test files are colocated: *.unit.test.ts (no I/O),
// *.integration.test.ts (real Postgres, Redis, sockets) and test/e2e/*.e2e.test.ts (the services as processes).
// The end-to-end files each start the whole system (five processes), so they run one at a time, after the rest:
// on two cores, running them beside everything else only measures the machine's patience.
export default defineConfig({
  test: {
    globalSetup: ["./test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: {
          name: "unit-integration",
          include: ["{packages,services}/*/src/**/*.test.ts", "test/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.e2e.test.ts"],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
