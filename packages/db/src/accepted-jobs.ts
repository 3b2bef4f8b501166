import { BatchQueue, type ExecuteToolJob, isInfrastructureError, JOBS, QUEUES } from "@kronos/shared";
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

// Timestamps are UTC in `timestamp(3)` columns, as Prisma writes them. One row or many: the records of requests
// accepted together share a statement (see insertAcceptedJob).
const INSERT_ACCEPTED_JOBS = `
  INSERT INTO accepted_jobs (key_prefix, queue, job_id, name, tenant_id, data, opts, children, created_at)
  SELECT v.key_prefix, v.queue, v.job_id, v.name, v.tenant_id, v.data, v.opts, v.children, ($9::timestamptz AT TIME ZONE 'UTC')
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::jsonb[], $7::jsonb[], $8::jsonb[])
    AS v(key_prefix, queue, job_id, name, tenant_id, data, opts, children)`;

interface NewRecord {
  keyPrefix: string;
  record: AcceptedJobRecord;
}

async function insertRecords(sql: Sql, records: NewRecord[]): Promise<void> {
  await sql.count({
    name: "accepted-jobs-insert",
    text: INSERT_ACCEPTED_JOBS,
    values: [
      records.map((r) => r.keyPrefix),
      records.map((r) => r.record.queue),
      records.map((r) => r.record.jobId),
      records.map((r) => r.record.name),
      records.map((r) => r.record.tenantId),
      records.map((r) => JSON.stringify(r.record.data)),
      records.map((r) => JSON.stringify(r.record.opts)),
      records.map((r) => (r.record.children ? JSON.stringify(r.record.children) : null)),
      new Date().toISOString(),
    ],
  });
}

/** Records inserted together at most, and statements in flight at once per runner (under the pool's size). */
const MAX_BATCH = 200;
const MAX_CONCURRENT = 4;
const inserts = new WeakMap<Sql, BatchQueue<NewRecord, void>>();

/**
 * `recordAcceptedJob` of a new job, as one prepared statement on the pg pool: the accept of every tool execution
 * writes it, and Prisma's query pipeline costs more than the statement (P7, bench/README.md). Requests accepted
 * together share a statement, and so one commit (one wait for the disk): while MAX_CONCURRENT inserts run, newer
 * records wait and leave together; an idle gateway inserts each at once, alone. A batch Postgres refuses for one of
 * its records (not for being away) is inserted again one record at a time, so that one record's refusal is its own.
 */
export function insertAcceptedJob(sql: Sql, keyPrefix: string, record: AcceptedJobRecord): Promise<void> {
  let queue = inserts.get(sql);
  if (!queue) {
    queue = new BatchQueue<NewRecord, void>(
      async (records) => {
        try {
          await insertRecords(sql, records);
          return records.map(() => ({ ok: true as const, value: undefined }));
        } catch (error) {
          if (records.length === 1 || isInfrastructureError(error)) throw error;
          return Promise.all(
            records.map((one) =>
              insertRecords(sql, [one]).then(
                () => ({ ok: true as const, value: undefined }),
                (refusal: unknown) => ({ ok: false as const, error: refusal }),
              ),
            ),
          );
        }
      },
      MAX_BATCH,
      MAX_CONCURRENT,
    );
    inserts.set(sql, queue);
  }
  return queue.push({ keyPrefix, record });
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
