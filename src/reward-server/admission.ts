// Admission control: at most `concurrency` requests are scored at once and at most `queue` wait for a
// slot; a request arriving when both are full is refused at once (HTTP 429 + Retry-After), so a flood
// costs the server memory for `queue` bodies, never more, and clients that retry (OpenRLHF retries
// every failed request after 1 s) get through once the backlog drains.

export class QueueFullError extends Error {
  constructor(readonly concurrency: number, readonly queue: number) {
    super(`reward server busy: ${concurrency} requests being scored and ${queue} waiting; retry after a second, or start it with a larger --queue or --concurrency`);
    this.name = "QueueFullError";
  }
}

export interface AdmissionStats { running: number; waiting: number; served: number; refused: number }

export class Admission {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private served = 0;
  private refused = 0;

  constructor(readonly concurrency: number, readonly queue: number) {}

  /** Runs `job` when a slot frees; throws QueueFullError when the wait queue is full. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queue) { this.refused++; throw new QueueFullError(this.concurrency, this.queue); }
      await new Promise<void>(resolve => this.waiting.push(resolve));
    } else this.running++;
    try {
      return await job();
    } finally {
      this.served++;
      // the slot passes straight to the next waiter, so `running` never dips below a full house
      const next = this.waiting.shift();
      if (next) next(); else this.running--;
    }
  }

  stats(): AdmissionStats {
    return { running: this.running, waiting: this.waiting.length, served: this.served, refused: this.refused };
  }
}
