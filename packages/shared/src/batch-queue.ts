/**
 * Coalesces calls that arrive together into one batch: while `maxConcurrent` batches are running, new items wait and
 * leave together in the next one (at most `maxBatch` items). Under a burst, one statement (one commit) serves many
 * callers; when idle, an item leaves at once, alone. `run` answers each item, in order, with a result or an error.
 */
export class BatchQueue<T, R> {
  private waiting: Array<{ item: T; resolve: (result: R) => void; reject: (error: unknown) => void }> = [];
  private running = 0;

  constructor(
    private readonly run: (items: T[]) => Promise<Array<{ ok: true; value: R } | { ok: false; error: unknown }>>,
    private readonly maxBatch: number,
    private readonly maxConcurrent: number,
    /**
     * Ms an item may wait for others before its batch leaves (0: at once). For writes nobody waits on in a hurry, it
     * turns a steady trickle into one statement per interval.
     */
    private readonly lingerMs = 0,
  ) {}
  private lingering: NodeJS.Timeout | undefined;

  push(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.lingerMs > 0 && this.waiting.length > 0 && this.waiting.length < this.maxBatch) {
      this.lingering ??= setTimeout(() => {
        this.lingering = undefined;
        this.flush();
      }, this.lingerMs);
      return;
    }
    this.flush();
  }

  private flush(): void {
    while (this.running < this.maxConcurrent && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      this.running += 1;
      this.run(batch.map((entry) => entry.item))
        .then(
          (results) =>
            batch.forEach((entry, index) => {
              const result = results[index];
              if (result?.ok) entry.resolve(result.value);
              else entry.reject(result ? result.error : new Error("the batch gave no result for this item"));
            }),
          (error: unknown) => {
            for (const entry of batch) entry.reject(error);
          },
        )
        .finally(() => {
          this.running -= 1;
          if (this.lingering === undefined) this.pump();
        });
    }
  }
}
