/**
 * Who publishes a stored webhook delivery's effect. A delivery is claimed before anything is published: by the request
 * that stored it (its INSERT won: `ingest:<uuid>`), or by the worker's job (`job`, with a conditional UPDATE). A claim
 * older than the lease is abandoned (its holder died before publishing) and may be taken over.
 */
export const WEBHOOK_CLAIM_LEASE_MS = 10_000;

export const WEBHOOK_JOB_CLAIM = "job";

export const ingestClaim = (requestId: string) => `ingest:${requestId}`;
