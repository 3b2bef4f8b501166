/**
 * The delivery lane: how a fresh outbound webhook delivery reaches a worker. Once its outbox row has committed, the
 * publisher pushes "<delivery id> <endpoint id>" on one Redis list; any worker pops entries in batches (BLMPOP) and
 * makes the first attempt. Retries, deliveries that step aside and those the sweeper recovers travel as BullMQ jobs
 * (the webhookDelivery queue). A list entry lost with Redis or with a killed worker is recovered from its row by
 * the sweeper: the row, not the entry, is what guarantees delivery.
 */
export const webhookLaneKey = (prefix: string) => `${prefix}:webhook-lane`;

export interface LaneEntry {
  deliveryId: string;
  endpointId: string;
}

export function encodeLaneEntry(entry: LaneEntry): string {
  return `${entry.deliveryId} ${entry.endpointId}`;
}

/** Null for anything that is not two ids separated by a space. */
export function decodeLaneEntry(text: string): LaneEntry | null {
  const space = text.indexOf(" ");
  if (space <= 0 || space === text.length - 1) return null;
  return { deliveryId: text.slice(0, space), endpointId: text.slice(space + 1) };
}
