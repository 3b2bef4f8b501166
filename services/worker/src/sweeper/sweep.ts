import { type AcceptedJob, MISSED_COMPLETION_AFTER_MS, type PrismaClient, publishMissedCompletions } from "@kronos/db";
import {
  type EventBus,
  executionFairShare,
  JOBS,
  type Logger,
  QUEUES,
  type Redis,
  type SweepReport,
  statusPollJobId,
  WEBHOOK_CLAIM_LEASE_MS,
  WEBHOOK_JOB_CLAIM,
} from "@kronos/shared";
import type { FlowChildJob, FlowProducer, JobsOptions, Queue } from "bullmq";
import { clearJob, isHealthy, type JobRef, type JobState, jobStates } from "./job-states.js";

/** Rows read per statement; a pass reads batches until none is full or MAX_BATCHES were read. */
const BATCH = 1_000;
const MAX_BATCHES = 20;
/** Finished records are kept this long (for an operator's questions), then deleted. */
const KEEP_FINISHED_MS = 24 * 3600_000;

export interface SweepDeps {
  prisma: PrismaClient;
  /** For the execution.completed events an execution's writer did not publish. */
  bus: Pick<EventBus, "publish">;
  /** A non-blocking connection, for reading job keys. */
  redis: Redis;
  prefix: string;
  /** Every queue by name, for adding jobs again (with their contract's default options). */
  queues: Map<string, Queue>;
  flows: FlowProducer;
  logger: Logger;
  /** Records younger than this are left alone: their request may still be adding the job. */
  graceMs: number;
  now?: () => Date;
}

/** Can be added again: what Redis holds of it will never run. */
const lost = (state: JobState) => state === "missing" || state === "broken" || state === "stranded";

/**
 * Adds a lost job again: what is left of it goes first (BullMQ would take the add for a duplicate of a stub and do
 * nothing), then the add, then a look at what Redis holds now: an add that left no runnable job is an error (logged
 * by the caller, and the next pass tries again), never a silent success.
 */
async function addAgain(deps: Pick<SweepDeps, "redis" | "prefix">, job: JobRef, state: JobState, add: () => Promise<unknown>) {
  if (state === "broken" || state === "stranded") await clearJob(deps.redis, deps.prefix, job);
  await add();
  const [now] = await jobStates(deps.redis, deps.prefix, [job]);
  if (!now || !isHealthy(now)) throw new Error(`added the job again, but Redis holds it as ${now ?? "nothing"}`);
}

/**
 * Ids (of `jobs`) whose own record says they are over, whatever Redis says: an execution past RUNNING, a
 * connection past INITIALIZING, a bulk request completed. Connection operations have no such record: their job's
 * state is the only witness (and a re-run of one is harmless: each op is idempotent at Composio and in our table).
 */
async function finalInTheirTable(prisma: PrismaClient, rows: AcceptedJob[]): Promise<Set<string>> {
  const ids = (queue: string) => rows.filter((r) => r.queue === queue).map((r) => r.jobId);
  const [executions, connections, bulks] = await Promise.all([
    // Anything but QUEUED or RUNNING is the execution's own business: final (SUCCEEDED, FAILED, OUTCOME_UNKNOWN, DENIED,
    // EXPIRED, CANCELLED) or parked (AWAITING_*, woken by its own mechanism), never a job to add again.
    prisma.execution.findMany({
      where: { id: { in: ids(QUEUES.toolExecution) }, status: { notIn: ["QUEUED", "RUNNING"] } },
      select: { id: true },
    }),
    prisma.connection.findMany({ where: { id: { in: ids(QUEUES.connection) }, status: { not: "INITIALIZING" } }, select: { id: true } }),
    prisma.bulkOperation.findMany({ where: { id: { in: ids(QUEUES.bulk) }, completedAt: { not: null } }, select: { id: true } }),
  ]);
  return new Set([...executions, ...connections, ...bulks].map((row) => row.id));
}

/** Adds an accepted job again, with its id: BullMQ ignores an add whose id exists, so this never makes a second job. */
async function redrive(deps: SweepDeps, row: AcceptedJob): Promise<void> {
  const opts = { ...(row.opts as JobsOptions), jobId: row.jobId };
  if (row.children) {
    await deps.flows.add({
      name: row.name,
      queueName: row.queue,
      data: row.data,
      opts,
      children: row.children as unknown as FlowChildJob[],
    });
    return;
  }
  const queue = deps.queues.get(row.queue);
  if (!queue) throw new Error(`no queue named "${row.queue}"`);
  if (row.queue === QUEUES.toolExecution && row.tenantId) {
    // The fair share: the tenant's priority now (the one it was accepted with went with Redis's data).
    const fairShare = executionFairShare(deps.redis, deps.prefix);
    const { priority, counted } = await fairShare.admitOrLast(row.tenantId);
    try {
      await queue.add(row.name, row.data, { ...opts, priority });
    } catch (error) {
      if (counted) await fairShare.release(row.tenantId).catch(() => undefined);
      throw error;
    }
    return;
  }
  await queue.add(row.name, row.data, opts);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One pass of the sweeper:
 * 1. accepted jobs (accepted_jobs, written before the 2xx) not yet marked finished and older than the grace: a job
 *    that finished in Redis, or whose own record is final, is marked finished; a job Redis does not have is added again;
 * 2. stored webhook deliveries not processed, with no job and no live claim: enqueued again;
 * 3. INITIATED connections without their status poll (a delayed job Redis lost): polled again.
 */
export async function sweepAcceptedJobs(deps: SweepDeps): Promise<SweepReport> {
  const now = deps.now?.() ?? new Date();
  const before = new Date(now.getTime() - deps.graceMs);
  const { finished, redriven } = await sweepAcceptedRecords(deps);
  const webhooksRedriven = await sweepWebhooks(deps, now, before);
  const pollsRedriven = await sweepStatusPolls(deps, now, before);
  return { finished, redriven, webhooksRedriven, pollsRedriven };
}

/**
 * Part 1 of a pass, the deployment's own accepted jobs (rows of its REDIS_KEY_PREFIX only, so deployments that share
 * a database never touch each other's): marks the finished ones, adds the lost ones again.
 */
export async function sweepAcceptedRecords(deps: SweepDeps): Promise<Pick<SweepReport, "finished" | "redriven">> {
  const now = deps.now?.() ?? new Date();
  const before = new Date(now.getTime() - deps.graceMs);
  const report = { finished: 0, redriven: 0 };

  let after: { createdAt: Date; queue: string; jobId: string } | null = null;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const rows: AcceptedJob[] = await deps.prisma.acceptedJob.findMany({
      where: {
        keyPrefix: deps.prefix,
        finishedAt: null,
        createdAt: { lt: before },
        ...(after ? { OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, jobId: { gt: after.jobId } }] } : {}),
      },
      orderBy: [{ createdAt: "asc" }, { jobId: "asc" }],
      take: BATCH,
    });
    if (rows.length === 0) break;
    const last = rows[rows.length - 1] as AcceptedJob;
    after = { createdAt: last.createdAt, queue: last.queue, jobId: last.jobId };

    const states = await jobStates(deps.redis, deps.prefix, rows);
    const stateOf = new Map(rows.map((row, i) => [row, states[i] as JobState]));
    // A finished job of an execution that is QUEUED again (approved, or woken after a sign-in) is the run that
    // parked it: the run it was queued again for is lost.
    const stale = await queuedAgain(
      deps.prisma,
      rows.filter((row) => stateOf.get(row) === "finished"),
    );
    for (const row of rows) if (stale.has(row.jobId) && row.queue === QUEUES.toolExecution) stateOf.set(row, "stranded");
    const missing = rows.filter((row) => lost(stateOf.get(row) as JobState));
    const final = missing.length > 0 ? await finalInTheirTable(deps.prisma, missing) : new Set<string>();
    let finished = rows.filter((row) => stateOf.get(row) === "finished" || (missing.includes(row) && final.has(row.jobId)));
    // Events follow: an execution that ended without its execution.completed (its writer died or lost Postgres's
    // answer in between) gets it now; one whose event could not be published stays for the next pass.
    const executionIds = finished.filter((row) => row.queue === QUEUES.toolExecution).map((row) => row.jobId);
    const endedBefore = new Date(now.getTime() - Math.max(deps.graceMs, MISSED_COMPLETION_AFTER_MS));
    const completions = await publishMissedCompletions(deps, executionIds, endedBefore);
    if (completions.published.length > 0)
      deps.logger.warn({ count: completions.published.length }, "published missed execution.completed events");
    // Marked finished only once its event is out: one still owed is looked at again on the next pass.
    const eventOwed = new Set([...completions.failed, ...completions.waiting]);
    finished = finished.filter((row) => !(row.queue === QUEUES.toolExecution && eventOwed.has(row.jobId)));
    for (const row of missing.filter((r) => !final.has(r.jobId))) {
      try {
        await addAgain(deps, row, stateOf.get(row) as JobState, () => redrive(deps, row));
        await deps.prisma.acceptedJob.update({
          where: { keyPrefix_queue_jobId: { keyPrefix: deps.prefix, queue: row.queue, jobId: row.jobId } },
          data: { redriveCount: { increment: 1 }, redrivenAt: now },
        });
        report.redriven += 1;
        deps.logger.warn(
          { queue: row.queue, jobId: row.jobId, state: stateOf.get(row) },
          "an accepted job was lost from Redis: added it again",
        );
      } catch (error) {
        deps.logger.error(
          { err: error, queue: row.queue, jobId: row.jobId, state: stateOf.get(row) },
          "could not add a lost accepted job again",
        );
      }
    }
    for (const queue of new Set(finished.map((r) => r.queue))) {
      const jobIds = finished.filter((r) => r.queue === queue).map((r) => r.jobId);
      await deps.prisma.acceptedJob.updateMany({
        where: { keyPrefix: deps.prefix, queue, jobId: { in: jobIds }, finishedAt: null },
        data: { finishedAt: now },
      });
    }
    report.finished += finished.length;
    if (rows.length < BATCH) break;
  }
  await deps.prisma.acceptedJob.deleteMany({
    where: { keyPrefix: deps.prefix, finishedAt: { lt: new Date(now.getTime() - KEEP_FINISHED_MS) } },
  });
  return report;
}

/** Ids of executions (among `rows` of the tool-execution queue) that are QUEUED. */
async function queuedAgain(prisma: PrismaClient, rows: AcceptedJob[]): Promise<Set<string>> {
  const ids = rows.filter((row) => row.queue === QUEUES.toolExecution).map((row) => row.jobId);
  if (ids.length === 0) return new Set();
  const queued = await prisma.execution.findMany({ where: { id: { in: ids }, status: "QUEUED" }, select: { id: true } });
  return new Set(queued.map((row) => row.id));
}

async function sweepWebhooks(deps: SweepDeps, now: Date, before: Date): Promise<number> {
  const leaseExpired = new Date(now.getTime() - WEBHOOK_CLAIM_LEASE_MS);
  const rows = await deps.prisma.webhookEvent.findMany({
    where: {
      processedAt: null,
      // Recent deliveries only: Composio gives up retrying after about a day, and older rows are an operator's call.
      receivedAt: { lt: before, gt: new Date(now.getTime() - KEEP_FINISHED_MS) },
      OR: [{ claimedAt: null }, { claimedAt: { lt: leaseExpired } }, { claimedBy: WEBHOOK_JOB_CLAIM }],
    },
    select: { id: true, claimedBy: true },
    orderBy: { receivedAt: "asc" },
    take: BATCH,
  });
  const states = await jobStates(
    deps.redis,
    deps.prefix,
    rows.map((r) => ({ queue: QUEUES.webhookEvent, jobId: r.id })),
  );
  const queue = deps.queues.get(QUEUES.webhookEvent) as Queue;
  let count = 0;
  for (const [i, row] of rows.entries()) {
    // A job that gave up while the request that stored the row held it (and died holding it): its claim has run
    // out now, so the delivery gets a new job.
    const abandoned = states[i] === "finished" && row.claimedBy?.startsWith("ingest:") === true;
    if (!lost(states[i] as JobState) && !abandoned) continue;
    await addAgain(deps, { queue: QUEUES.webhookEvent, jobId: row.id }, abandoned ? "broken" : (states[i] as JobState), () =>
      queue.add(JOBS.processWebhookEvent, { webhookId: row.id }, { jobId: row.id }),
    );
    count += 1;
  }
  if (count > 0) deps.logger.warn({ count }, "stored webhook deliveries had no job: enqueued them again");
  return count;
}

async function sweepStatusPolls(deps: SweepDeps, now: Date, before: Date): Promise<number> {
  const rows = await deps.prisma.connection.findMany({
    // Links that may still be followed (an expired one is failed by the reconciliation, or by its own poll).
    where: { status: "INITIATED", updatedAt: { lt: before }, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
    select: { id: true, tenantId: true },
    take: BATCH,
  });
  const valid = rows.filter((r) => UUID.test(r.id));
  const states = await jobStates(
    deps.redis,
    deps.prefix,
    valid.map((r) => ({ queue: QUEUES.statusPoll, jobId: statusPollJobId(r.id) })),
  );
  const queue = deps.queues.get(QUEUES.statusPoll) as Queue;
  let count = 0;
  for (const [i, row] of valid.entries()) {
    const state = states[i] as JobState;
    if (!lost(state)) continue;
    if (state !== "missing") await clearJob(deps.redis, deps.prefix, { queue: QUEUES.statusPoll, jobId: statusPollJobId(row.id) });
    // Not checked after the add: a poll may run and be removed (removeOnComplete) before a second look.
    await queue.add(
      JOBS.pollConnectionStatus,
      { connectionId: row.id, tenantId: row.tenantId, attempt: 0 },
      { jobId: statusPollJobId(row.id), removeOnComplete: true },
    );
    count += 1;
  }
  if (count > 0) deps.logger.warn({ count }, "INITIATED connections had lost their status poll: polling them again");
  return count;
}
