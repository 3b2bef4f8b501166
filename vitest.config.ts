import { defineConfig } from "vitest/config";

// One run over the whole workspace. Test files are colocated: *.unit.test.ts (no I/O),
// *.integration.test.ts (real Postgres, Redis, sockets) and *.e2e.test.ts (the services as processes).
export default defineConfig({
  test: {
    globalSetup: ["./test/global-setup.ts"],
    include: ["{packages,services}/*/src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 3,
  },
});
