import { ConfigError, configSchema, loggerOptions } from "@kronos/shared";
import { startEmulator } from "./index.js";

/** `node dist/main.js`: the emulator as a process (offline development, e2e tests). */
async function main(): Promise<void> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = configSchema
    .pick({
      HOST: true,
      EMULATOR_PORT: true,
      COMPOSIO_API_KEY: true,
      LOG_LEVEL: true,
      EMULATOR_WEBHOOK_URL: true,
      COMPOSIO_WEBHOOK_SECRET: true,
      EMULATOR_RATE_LIMIT_PER_MINUTE: true,
    })
    .safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  if (parsed.success && parsed.data.EMULATOR_WEBHOOK_URL && !parsed.data.COMPOSIO_WEBHOOK_SECRET) {
    problems.push("COMPOSIO_WEBHOOK_SECRET: is required when EMULATOR_WEBHOOK_URL is set (webhooks are signed with it)");
  }
  if (!parsed.success || problems.length > 0) {
    process.stderr.write(`[composio-emulator] ${new ConfigError(problems).message}\n`);
    process.exit(78);
  }
  const config = parsed.data;
  const emulator = await startEmulator({
    host: config.HOST,
    port: config.EMULATOR_PORT,
    apiKey: config.COMPOSIO_API_KEY,
    logger: loggerOptions("composio-emulator", config.LOG_LEVEL),
    ...(config.EMULATOR_WEBHOOK_URL && config.COMPOSIO_WEBHOOK_SECRET
      ? { webhook: { url: config.EMULATOR_WEBHOOK_URL, secret: config.COMPOSIO_WEBHOOK_SECRET } }
      : {}),
    rateLimitPerMinute: config.EMULATOR_RATE_LIMIT_PER_MINUTE ?? null,
  });
  emulator.app.log.info(
    {
      url: emulator.url,
      webhookUrl: config.EMULATOR_WEBHOOK_URL ?? null,
      rateLimitPerMinute: config.EMULATOR_RATE_LIMIT_PER_MINUTE ?? null,
    },
    "composio emulator listening",
  );

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    emulator.app.log.info({ signal }, "shutting down");
    await emulator.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  process.stderr.write(`[composio-emulator] failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
