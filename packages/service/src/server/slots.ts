/** One admitted request's hold on a slot. */
export interface SlotTicket {
  /** The request's inference: the slot stays held until it settles. */
  track(work: Promise<unknown>): void;
  /** The response has closed (sent, failed or the client left). */
  closed(): void;
}

/**
 * Counts the images being processed. A slot is taken when a request arrives and given back only when BOTH its
 * response has closed and its inference (if it started one) has settled: a request that timed out, or whose
 * client left, still occupies onnxruntime until its run ends, so counting it keeps the load bounded by `capacity`.
 */
export class Slots {
  private used = 0;
  private latencyMs = 0;

  constructor(readonly capacity: number) {}

  get inUse(): number {
    return this.used;
  }

  /** A ticket, or null when all slots are held. */
  tryTake(): SlotTicket | null {
    if (this.used >= this.capacity) return null;
    this.used++;
    let work: Promise<unknown> | null = null;
    let closed = false;
    let freed = false;
    const free = (): void => {
      if (freed) return;
      freed = true;
      this.used--;
    };
    return {
      track: (p) => {
        work = p;
        const settle = (): void => {
          if (closed) free();
        };
        p.then(settle, settle);
      },
      closed: () => {
        if (closed) return;
        closed = true;
        if (work === null) free();
        else work.then(free, free);
      },
    };
  }

  /** Records a finished inference (exponential moving average) for Retry-After. */
  record(ms: number): void {
    this.latencyMs = this.latencyMs === 0 ? ms : 0.8 * this.latencyMs + 0.2 * ms;
  }

  /** Seconds a refused client should wait: about the time for the current load to drain, at least 1. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.latencyMs * Math.max(1, this.used)) / this.capacity / 1000));
  }
}
