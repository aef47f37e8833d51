// A worker thread that runs transfers (transfer-pool.ts starts it). The request socket stays
// with the main thread; each transfer's own sockets are opened here, so the per-block work of
// many simultaneous transfers spreads over the cores, as a forking server's would.
import { parentPort, workerData } from 'node:worker_threads';
import { TransferHost } from './transfer-host.ts';
import { PortClaims } from './ports.ts';
import type { RunOutcome, TransferSpec } from './transfer-spec.ts';

export type ToWorker =
  | { t: 'start'; id: number; spec: TransferSpec }
  | { t: 'repeat'; id: number }
  | { t: 'stop'; id: number };

export type FromWorker =
  | { t: 'ready' }
  | { t: 'done'; id: number; outcome: RunOutcome };

export interface WorkerInit { ports: SharedArrayBuffer }

const port = parentPort!;
const host = new TransferHost(new PortClaims((workerData as WorkerInit).ports));
const reply = (m: FromWorker) => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  if (m.t === 'start') host.start(m.id, m.spec, (outcome) => reply({ t: 'done', id: m.id, outcome }));
  else if (m.t === 'repeat') host.repeat(m.id);
  else host.stop(m.id);
});
reply({ t: 'ready' });
