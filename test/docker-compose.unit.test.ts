import { existsSync, readFileSync } from "node:fs";
import { configSchema, loadConfig } from "@kronos/shared";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// docker-compose.yml cannot run on our machines (no Docker engine), so it is kept correct by this test: each
// service's command must exist in the build and its environment must satisfy the one config schema.

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
}

const compose = parse(readFileSync(new URL("../docker-compose.yml", import.meta.url), "utf8"), { merge: true }) as {
  services: Record<string, ComposeService>;
};

/** Resolves ${VAR:?message} with a sample value and ${VAR:-default} with its default, as docker compose would. */
function interpolate(value: string): string {
  return String(value).replace(/\$\{([A-Z_]+)(?::([?-])([^}]*))?\}/g, (_match, name: string, kind?: string, rest?: string) => {
    if (kind === "-") return rest ?? "";
    return `sample-value-for-${name}-0123456789abcdefghijklmnop`;
  });
}

const appServices = { gateway: "GATEWAY_PORT", worker: "WORKER_PORT", webhooks: "WEBHOOKS_PORT" } as const;

describe("docker-compose.yml", () => {
  it("has the designed services", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["gateway", "migrate", "postgres", "redis", "webhooks", "worker"]);
  });

  for (const [name, portVariable] of Object.entries(appServices)) {
    describe(name, () => {
      const service = compose.services[name]!;

      it("runs the service's built entry point", () => {
        expect(service.command).toEqual(["node", `services/${name}/dist/main.js`]);
        expect(existsSync(new URL(`../services/${name}/src/main.ts`, import.meta.url))).toBe(true);
      });

      it("sets only variables the config schema knows, and they parse", () => {
        const environment = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(v)]));
        const unknown = Object.keys(environment).filter((key) => !(key in configSchema.shape));
        expect(unknown).toEqual([]);
        const config = loadConfig({ ...environment, COMPOSIO_BASE_URL: environment.COMPOSIO_BASE_URL || "https://backend.composio.dev" });
        expect(config.HOST).toBe("0.0.0.0");
        expect(config.DATABASE_URL).toContain("@postgres:5432/");
        expect(config.REDIS_URL).toBe("redis://redis:6379");
      });

      it("waits for migrations and Redis, and checks its own /health on its configured port", () => {
        expect(service.depends_on?.migrate?.condition).toBe("service_completed_successfully");
        expect(service.depends_on?.redis?.condition).toBe("service_healthy");
        const port = configSchema.shape[portVariable].parse(undefined);
        expect(service.healthcheck?.test.join(" ")).toContain(`127.0.0.1:${port}/health`);
      });
    });
  }

  it("runs Redis as the queues need it: persistent (appendonly) and never evicting (docs/operations.md)", () => {
    const command = compose.services.redis?.command ?? [];
    const option = (name: string) => command[command.indexOf(`--${name}`) + 1];
    expect(command).toContain("--appendonly");
    expect(option("appendonly")).toBe("yes");
    expect(option("maxmemory-policy")).toBe("noeviction");
  });

  it("migrates with Prisma before the services start, once Postgres is healthy", () => {
    const migrate = compose.services.migrate!;
    expect(migrate.command).toEqual(["node_modules/.bin/prisma", "migrate", "deploy"]);
    expect(migrate.depends_on?.postgres?.condition).toBe("service_healthy");
    expect(compose.services.postgres?.healthcheck).toBeDefined();
    expect(compose.services.redis?.healthcheck).toBeDefined();
  });
});
