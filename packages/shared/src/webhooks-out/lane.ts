/**
 * The delivery lane: how a fresh outbound webhook delivery reaches a worker. Once its outbox row has committed, the
 * publisher pushes one entry per delivery on one Redis list; any worker pops entries in batches (BLMPOP) and makes
 * the first attempt. Retries, deliveries that step aside and those the sweeper recovers travel as BullMQ jobs (the
 * webhookDelivery queue). An entry lost with Redis or with a killed worker is recovered from its row by the sweeper:
 * the row, not the entry, is what guarantees delivery.
 *
 * An entry carries what the first attempt needs besides its endpoint (the event id and the exact body), and the
 * version of the endpoint when the row was written (its updated_at), so that a worker reads an endpoint again only
 * when it changed, not once per delivery.
 */
export const webhookLaneKey = (prefix: string) => `${prefix}:webhook-lane`;

export interface LaneEntry {
  deliveryId: string;
  endpointId: string;
  /** The endpoint's updated_at (epoch ms, as text) when the delivery row was written. */
  endpointVersion: string;
  eventId: string;
  /** When it was pushed (epoch ms): an entry that waited too long is left to the sweeper. */
  queuedAt: number;
  body: string;
}

export function encodeLaneEntry(entry: LaneEntry): string {
  return `${entry.deliveryId} ${entry.endpointId} ${entry.endpointVersion} ${entry.eventId} ${entry.queuedAt} ${entry.body}`;
}

/** Null for anything that is not five space-free fields and a body. */
export function decodeLaneEntry(text: string): LaneEntry | null {
  const fields: string[] = [];
  let from = 0;
  for (let i = 0; i < 5; i++) {
    const space = text.indexOf(" ", from);
    if (space <= from) return null;
    fields.push(text.slice(from, space));
    from = space + 1;
  }
  const [deliveryId, endpointId, endpointVersion, eventId, queuedAt] = fields as [string, string, string, string, string];
  const at = Number(queuedAt);
  if (!Number.isSafeInteger(at)) return null;
  return { deliveryId, endpointId, endpointVersion, eventId, queuedAt: at, body: text.slice(from) };
}
