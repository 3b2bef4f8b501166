import { luaScript, type Redis } from "@kronos/shared";

/**
 * What Redis holds for a job the sweeper cares about:
 * - "missing": nothing (lost in a restart without data, evicted);
 * - "broken": a hash without its name or data. BullMQ writes a few fields without checking that the job exists
 *   (moving a job id to active writes processedOn and the attempt count, a stall its count), so a job id that
 *   outlived its hash comes back as such a stub, locked by the worker that fetched it. It can never run; an add with
 *   its id sees the key and does nothing (BullMQ takes it for a duplicate), and BullMQ's remove refuses it while
 *   locked. (Taking such a stub for "missing" made the sweeper re-add it every pass, to no effect, for as long as
 *   the stub lived: the Redis data-loss test saw one initiation "re-driven" 62 times in 60 s.);
 * - "stranded": a whole job that no state list holds (its hash outlived the list it was in): no worker will fetch it;
 * - "finished": completed or failed for good (BullMQ sets finishedOn only on the final outcome);
 * - "pending": waiting, delayed, prioritized, active or waiting for children.
 */
export type JobState = "missing" | "broken" | "stranded" | "finished" | "pending";

export interface JobRef {
  queue: string;
  jobId: string;
}

// One script for a whole batch, so that a job never moves (or finishes and is removed) between reading its hash and
// looking for it in the state lists: a job seen "stranded" really is. The O(1) sets are looked at before the lists.
const statesScript = luaScript(`
local prefix = ARGV[1]
local out = {}
for i = 2, #ARGV, 2 do
  local base = prefix .. ':' .. ARGV[i] .. ':'
  local id = ARGV[i + 1]
  local fields = redis.call('HMGET', base .. id, 'finishedOn', 'name', 'data')
  local state
  if redis.call('EXISTS', base .. id) == 0 then
    state = 'missing'
  elseif not fields[2] or not fields[3] then
    state = 'broken'
  elseif fields[1] then
    state = 'finished'
  elseif redis.call('ZSCORE', base .. 'delayed', id) or redis.call('ZSCORE', base .. 'prioritized', id)
      or redis.call('ZSCORE', base .. 'waiting-children', id) or redis.call('LPOS', base .. 'active', id)
      or redis.call('LPOS', base .. 'wait', id) or redis.call('LPOS', base .. 'paused', id) then
    state = 'pending'
  else
    state = 'stranded'
  end
  out[#out + 1] = state
end
return out`);

/** The state of each job (see JobState), in one round trip. */
export async function jobStates(redis: Redis, prefix: string, jobs: JobRef[]): Promise<JobState[]> {
  if (jobs.length === 0) return [];
  const args = [prefix, ...jobs.flatMap((job) => [job.queue, job.jobId])];
  return (await statesScript(redis, [], args)) as JobState[];
}

// Everything BullMQ may keep of one job id: its hash, lock and log, and its place in every state list.
const clearScript = luaScript(`
local base = ARGV[1] .. ':' .. ARGV[2] .. ':'
local id = ARGV[3]
redis.call('DEL', base .. id, base .. id .. ':lock', base .. id .. ':logs')
for _, list in ipairs({ 'wait', 'active', 'paused' }) do redis.call('LREM', base .. list, 0, id) end
for _, set in ipairs({ 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed' }) do
  redis.call('ZREM', base .. set, id)
end
redis.call('SREM', base .. 'stalled', id)
return 1`);

/**
 * Clears what is left of a job that cannot run ("broken" or "stranded"), lock included, so that it can be added
 * again with its id. BullMQ's `remove` will not do it: it refuses a locked job, and a worker that fetched a stub
 * holds its lock. That worker's run then fails to finish (its lock is gone), which changes nothing.
 */
export async function clearJob(redis: Redis, prefix: string, job: JobRef): Promise<void> {
  await clearScript(redis, [], [prefix, job.queue, job.jobId]);
}

/** Whether a job can run, or has: what `addAgain` must leave behind. */
export const isHealthy = (state: JobState) => state === "pending" || state === "finished";
