// Runs transfers in the current thread: opens each one's sockets, drives their timers with one
// coarse ticker, and reports how each ended. The server uses one directly (no worker threads)
// or one per worker thread (transfer-worker.ts).
import { Transfer, clock } from './transfer.ts';
import { openTransferSockets } from './sockets.ts';
import { sourceOf, type RunOutcome, type TransferSpec } from './transfer-spec.ts';
import type { PortClaims } from './ports.ts';
import { errorMessage } from '../util/errors.ts';

const TICK_MS = 10;

export class TransferHost {
  private readonly live = new Map<number, Transfer>();
  /** Waiting for their sockets. */
  private readonly opening = new Set<number>();
  /** Stopped before their sockets were open: they end as soon as they are. */
  private readonly stopEarly = new Set<number>();
  private ticker: NodeJS.Timeout | undefined;

  constructor(private readonly ports: PortClaims) {}

  get active(): number { return this.live.size; }

  start(id: number, spec: TransferSpec, done: (r: RunOutcome) => void): void {
    const source = sourceOf(spec.source);
    this.opening.add(id);
    openTransferSockets(spec.local, spec.ip, spec.port, this.ports).then((sockets) => {
      this.opening.delete(id);
      clock.now = performance.now();
      const t = new Transfer({
        sockets, source,
        blksize: spec.blksize, windowsize: spec.windowsize,
        oack: spec.oack ? Buffer.from(spec.oack.buffer, spec.oack.byteOffset, spec.oack.byteLength) : undefined,
        tsizeAsked: spec.tsizeAsked, timeoutMs: spec.timeoutMs, maxRetries: spec.maxRetries,
        handshakeMs: spec.handshakeMs, deadlineMs: spec.deadlineMs,
        onDone: (_t, result) => {
          this.live.delete(id);
          done({ ok: true, result });
        },
      }, clock.now);
      this.live.set(id, t);
      this.ticker ??= setInterval(() => this.tick(), TICK_MS);
      t.begin(clock.now);
      if (this.stopEarly.delete(id)) t.finish('shutdown');
    }, (err: unknown) => {
      this.opening.delete(id);
      this.stopEarly.delete(id);
      source.close();
      done({ ok: false, error: errorMessage(err) });
    });
  }

  /** The client repeated its request: resend the first packet if it has not answered yet. */
  repeat(id: number): void {
    this.live.get(id)?.repeatFirst();
  }

  stop(id: number): void {
    const t = this.live.get(id);
    if (t) t.finish('shutdown');
    else if (this.opening.has(id)) this.stopEarly.add(id);
  }

  private tick(): void {
    const now = (clock.now = performance.now());
    for (const t of this.live.values()) t.tick(now);
    if (this.live.size === 0 && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }
}
