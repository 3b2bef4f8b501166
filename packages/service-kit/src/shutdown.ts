import type { Logger } from "@kronos/shared";

export interface ShutdownOptions {
  logger: Pick<Logger, "info" | "error">;
  /** SHUTDOWN_TIMEOUT_MS: past it, the process exits with 1 whatever is still running. */
  timeoutMs: number;
  /** Stops the service: stops accepting work, lets what is in flight finish, closes its connections. */
  stop: () => Promise<void>;
  /** For tests: where the signals come from and how the process ends. */
  signals?: Pick<NodeJS.Process, "on">;
  exit?: (code: number) => void;
}

/**
 * One graceful stop for every service: on SIGTERM or SIGINT, `stop()` once, then exit 0; exit 1 if it fails or takes
 * longer than the timeout (the worker's unfinished jobs are then handed to another worker by BullMQ's stalled-job
 * check: nothing is lost). Further signals while stopping are ignored. Returns the stop, for callers that end on
 * their own (a failed listen).
 */
export function stopOnSignals(options: ShutdownOptions): (reason: string) => Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const shutdown = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    options.logger.info({ reason, timeoutMs: options.timeoutMs }, "shutting down");
    const force = setTimeout(() => {
      options.logger.error({ timeoutMs: options.timeoutMs }, "shutdown took longer than SHUTDOWN_TIMEOUT_MS; exiting");
      exit(1);
    }, options.timeoutMs);
    force.unref();
    try {
      await options.stop();
      clearTimeout(force);
      options.logger.info("stopped");
      exit(0);
    } catch (error) {
      clearTimeout(force);
      options.logger.error({ err: error }, "shutdown failed");
      exit(1);
    }
  };
  const signals = options.signals ?? process;
  for (const signal of ["SIGTERM", "SIGINT"] as const) signals.on(signal, () => void shutdown(signal));
  return shutdown;
}
