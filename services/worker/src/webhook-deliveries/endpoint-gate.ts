/**
 * Bounds the attempts in flight per endpoint in one process. A job over the bound waits for a slot for a short
 * while (a healthy endpoint frees one within milliseconds), but at most `limit` jobs wait per endpoint: past that,
 * or when the wait runs out, the caller steps aside (delays its job), so a slow endpoint holds at most 2 × limit of
 * the worker's slots and every other endpoint keeps the rest.
 */
export class EndpointGate {
  private readonly inFlight = new Map<string, number>();
  private readonly waiters = new Map<string, Array<() => void>>();

  constructor(private readonly limit: number) {}

  /** True with a slot taken (give it back with `release`), false when the caller should step aside. */
  async acquire(endpointId: string, waitMs: number): Promise<boolean> {
    const active = this.inFlight.get(endpointId) ?? 0;
    if (active < this.limit) {
      this.inFlight.set(endpointId, active + 1);
      return true;
    }
    const queue = this.waiters.get(endpointId) ?? [];
    if (queue.length >= this.limit) return false;
    this.waiters.set(endpointId, queue);
    return new Promise<boolean>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true); // The releasing attempt handed its slot over: inFlight is unchanged.
      };
      const timer = setTimeout(() => {
        const index = queue.indexOf(wake);
        if (index >= 0) queue.splice(index, 1);
        if (queue.length === 0 && this.waiters.get(endpointId) === queue) this.waiters.delete(endpointId);
        resolve(false);
      }, waitMs);
      queue.push(wake);
    });
  }

  release(endpointId: string): void {
    const queue = this.waiters.get(endpointId);
    const next = queue?.shift();
    if (queue && queue.length === 0) this.waiters.delete(endpointId);
    if (next) {
      next();
      return;
    }
    const left = (this.inFlight.get(endpointId) ?? 1) - 1;
    if (left > 0) this.inFlight.set(endpointId, left);
    else this.inFlight.delete(endpointId);
  }
}
