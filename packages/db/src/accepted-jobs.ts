import { type ExecuteToolJob, JOBS, QUEUES } from "@kronos/shared";
import type { Prisma, PrismaClient } from "./generated/prisma/client.js";
import type { Sql } from "./sql.js";

/** A job (or a flow: a parent and its children) we answered 2xx for, or promised to run. */
export interface AcceptedJobRecord {
  queue: string;
  name: string;
  jobId: string;
  tenantId: string;
  data: object;
  /** BullMQ's options for it (jobId, attempts, priority...). */
  opts: object;
  /** For a flow: its children, as BullMQ's FlowChildJob[]. */
  children?: object[];
}

const json = (value: unknown) => value as Prisma.InputJsonValue;

/**
 * Writes the durable record of an accepted job (accepted_jobs), before the job is added to Redis: the worker's
 * sweeper adds it again, with the same id, if Redis loses it. `again`: the job id was accepted before (an execution
 * queued again after its approval or its user's sign-in): the record is opened again with the new job, and its age
 * starts again (the sweeper leaves records younger than SWEEP_GRACE_MS alone while their job is being added).
 * Takes a transaction client, so that the record can be written with the change that promises the job.
 */
export async function recordAcceptedJob(
  db: PrismaClient | Prisma.TransactionClient,
  keyPrefix: string,
  record: AcceptedJobRecord,
  options: { again?: boolean } = {},
): Promise<void> {
  const fields = {
    name: record.name,
    tenantId: record.tenantId,
    data: json(record.data),
    opts: json(record.opts),
    ...(record.children ? { children: json(record.children) } : {}),
  };
  const id = { keyPrefix, queue: record.queue, jobId: record.jobId };
  if (!options.again) {
    await db.acceptedJob.create({ data: { ...id, ...fields } });
    return;
  }
  await db.acceptedJob.upsert({
    where: { keyPrefix_queue_jobId: id },
    create: { ...id, ...fields },
    update: { ...fields, createdAt: new Date(), finishedAt: null },
  });
}

// Timestamps are UTC in `timestamp(3)` columns, as Prisma writes them.
const INSERT_ACCEPTED_JOB = `
  INSERT INTO accepted_jobs (key_prefix, queue, job_id, name, tenant_id, data, opts, children, created_at)
  VALUES ($1, $2, $3, $4, $5::uuid, $6::jsonb, $7::jsonb, $8::jsonb, ($9::timestamptz AT TIME ZONE 'UTC'))`;

/**
 * `recordAcceptedJob` of a new job, as one prepared statement on the pg pool: the accept of every tool execution
 * writes it, and Prisma's query pipeline costs more than the statement (P7, bench/README.md).
 */
export async function insertAcceptedJob(sql: Sql, keyPrefix: string, record: AcceptedJobRecord): Promise<void> {
  await sql.count({
    name: "accepted-job-insert",
    text: INSERT_ACCEPTED_JOB,
    values: [
      keyPrefix,
      record.queue,
      record.jobId,
      record.name,
      record.tenantId,
      JSON.stringify(record.data),
      JSON.stringify(record.opts),
      record.children ? JSON.stringify(record.children) : null,
      new Date().toISOString(),
    ],
  });
}

/** The record of an execution's job (a stored execution queued to run again: see queueExecution in packages/shared). */
export function executionJobRecord(job: ExecuteToolJob, attempts?: number): AcceptedJobRecord {
  return {
    queue: QUEUES.toolExecution,
    name: JOBS.executeTool,
    jobId: job.executionId,
    tenantId: job.tenantId,
    data: job,
    opts: { jobId: job.executionId, ...(attempts === undefined ? {} : { attempts }) },
  };
}
