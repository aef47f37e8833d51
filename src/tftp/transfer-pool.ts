// Where transfers run: in the server's own thread, or spread over worker threads. A forking
// TFTP server (tftpd-hpa) puts each transfer in its own process and so uses every core; with
// one thread, fifty simultaneous lock-step transfers are bound by that one core. Each worker
// opens and owns its transfers' sockets; the main thread keeps the request socket, decides,
// and hands a transfer over as a TransferSpec.
import type { Worker } from 'node:worker_threads';
import { startSiblingWorker } from '../util/worker.ts';
import { TransferHost } from './transfer-host.ts';
import { PortClaims } from './ports.ts';
import type { RunOutcome, TransferSpec } from './transfer-spec.ts';
import type { FromWorker, ToWorker, WorkerInit } from './transfer-worker.ts';

export interface RunningTransfer {
  /** The client repeated its request. */
  repeat(): void;
  /** End it now ('shutdown'); its outcome still arrives through `done`. */
  stop(): void;
}

export interface TransferRunner {
  start(): Promise<void>;
  run(spec: TransferSpec, done: (r: RunOutcome) => void): RunningTransfer;
  /** Ends the threads; transfers still running are lost (stop them first). */
  close(): Promise<void>;
}

export class InlineRunner implements TransferRunner {
  private readonly host = new TransferHost(new PortClaims());
  private seq = 0;
  async start(): Promise<void> {}
  run(spec: TransferSpec, done: (r: RunOutcome) => void): RunningTransfer {
    const id = ++this.seq;
    this.host.start(id, spec, done);
    return { repeat: () => this.host.repeat(id), stop: () => this.host.stop(id) };
  }
  async close(): Promise<void> {}
}

/**
 * Big files arrive as descriptors the main thread opened and the worker closes: fd tracking
 * (which would warn about each) is off.
 */
function spawn(init: WorkerInit): Worker {
  return startSiblingWorker(import.meta.url, 'transfer-worker', { workerData: init, trackUnmanagedFds: false });
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  waiting: Map<number, (r: RunOutcome) => void>;
}

export class WorkerRunner implements TransferRunner {
  private readonly slots: Slot[] = [];
  private readonly ports = new PortClaims();
  private seq = 0;
  private closing = false;

  constructor(private readonly threads: number, private readonly onThreadError: (err: Error) => void) {}

  async start(): Promise<void> {
    for (let i = 0; i < this.threads; i++) this.slots.push(this.spawnSlot());
    await Promise.all(this.slots.map((s) => s.ready));
  }

  private spawnSlot(): Slot {
    const worker = spawn({ ports: this.ports.buffer });
    const waiting = new Map<number, (r: RunOutcome) => void>();
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => { readyResolve = res; readyReject = rej; });
    const slot: Slot = { worker, ready, waiting };
    let started = false;
    worker.on('message', (m: FromWorker) => {
      if (m.t === 'ready') { started = true; readyResolve(); return; }
      const done = waiting.get(m.id);
      if (!done) return;
      waiting.delete(m.id);
      done(m.outcome);
    });
    const lost = (why: string) => {
      readyReject(new Error(why));
      for (const [id, done] of waiting) { waiting.delete(id); done({ ok: false, error: why }); }
      // A thread that never started would fail again: start() reports it instead.
      if (this.closing || !started) return;
      // Replace the thread so the server keeps its capacity.
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.spawnSlot();
    };
    worker.on('error', (err) => { this.onThreadError(err); lost(`transfer thread failed: ${err.message}`); });
    worker.on('exit', (code) => lost(`transfer thread exited (${code})`));
    return slot;
  }

  run(spec: TransferSpec, done: (r: RunOutcome) => void): RunningTransfer {
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.waiting.size < slot.waiting.size) slot = s;
    const id = ++this.seq;
    slot.waiting.set(id, done);
    const post = (m: ToWorker) => { if (slot.waiting.has(id)) slot.worker.postMessage(m); };
    post({ t: 'start', id, spec });
    return { repeat: () => post({ t: 'repeat', id }), stop: () => post({ t: 'stop', id }) };
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }
}
