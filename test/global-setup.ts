import { execFileSync } from "node:child_process";
import pg from "pg";
import { SPEC_SKIP_NOTICE, specAvailable } from "../packages/composio-emulator/test/spec-location.js";

/**
 * Points the tests at a real Postgres and Redis. DATABASE_URL / REDIS_URL win when they are set (CI and our
 * machines, which have no Docker engine); otherwise a Docker engine, when there is one, starts both with
 * testcontainers; otherwise the local servers. The test database is created if missing and migrated.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<unknown>> = [];
  if (!process.env.DATABASE_URL && (await dockerEngineAvailable())) {
    const { GenericContainer, Wait } = await import("testcontainers");
    const postgres = await new GenericContainer("postgres:16-alpine")
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust" })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/ready to accept connections/, 2))
      .start();
    const redis = await new GenericContainer("redis:7-alpine").withExposedPorts(6379).start();
    stops.push(
      () => postgres.stop(),
      () => redis.stop(),
    );
    process.env.DATABASE_URL = `postgresql://postgres@${postgres.getHost()}:${postgres.getMappedPort(5432)}/kronos_test`;
    process.env.REDIS_URL = `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`;
  }
  process.env.DATABASE_URL ??= "postgresql://postgres@127.0.0.1:5432/kronos_test";
  process.env.REDIS_URL ??= "redis://127.0.0.1:6379";
  await ensureDatabase(process.env.DATABASE_URL);
  execFileSync("pnpm", ["exec", "prisma", "migrate", "deploy"], {
    env: { ...process.env, CHECKPOINT_DISABLE: "1" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  // Said once, at the end of the run, below the summary that counts the skipped tests.
  const specNotice = specAvailable() ? null : SPEC_SKIP_NOTICE;
  return async () => {
    for (const stop of stops) await stop();
    if (specNotice) process.stderr.write(`\n${specNotice}\n`);
  };
}

async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const quoted = `"${name.replaceAll('"', '""')}"`;
    // In CI a database whose name ends in _test is ours to throw away: the run starts from the migrations alone.
    // (Not locally, where several test runs may share it.)
    if (process.env.CI && name.endsWith("_test")) await client.query(`drop database if exists ${quoted} with (force)`);
    const exists = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (exists.rowCount === 0) await client.query(`create database ${quoted}`);
  } finally {
    await client.end();
  }
}

async function dockerEngineAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}
