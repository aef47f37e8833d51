// Worker threads that end with native sockets open, busy and holding unsent datagrams: the
// environment's cleanup hook closes them while JavaScript can no longer run, and the memory
// must outlive both the libuv handles and the napi finalizer, whichever goes last. Run under
// AddressSanitizer by test/integration/udp/asan.test.ts (the release build would not notice).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { openUdp, udpKind } from '../../../src/udp/socket.ts';

const ADDON = process.env.BRANCHBOOT_UDP_ADDON ?? path.resolve(import.meta.dirname, '../../../build/Release/branchboot_udp.node');
const skip = udpKind({}).kind !== 'native' ? 'native addon not built' : undefined;

// Plain JavaScript (no loader in the worker): four sockets answering every datagram with a
// send and a sendLater; then the mode decides how the thread ends.
const WORKER = `
  const { parentPort, workerData } = require('node:worker_threads');
  const n = require(workerData.addon);
  const socks = [];
  for (let i = 0; i < 4; i++) {
    const h = n.open(0x7f000001, 0, true, false, 0, 0, 16, 2048);
    socks.push(h);
    n.onMessage(h, (m, a, p) => {
      n.sendLater(h, a, p, m);
      n.send(h, a, p, m);
      if (workerData.mode === 'exit') process.exit(3);
      if (workerData.mode === 'throw') throw new Error('listener bug');
    });
  }
  n.sendLater(socks[0], 0x7f000001, workerData.peer, Buffer.from('gathered'));
  parentPort.postMessage(socks.map((h) => n.info(h)[0]));
`;

for (const mode of ['terminate', 'exit', 'throw']) {
  test(`native: a worker ending by ${mode} with busy sockets open`, { skip, timeout: 60_000 }, async () => {
    const peer = await openUdp({ address: '127.0.0.1', port: 0, recvBuffer: 1 << 20 }, 'native');
    let replies = 0;
    peer.onMessage(() => { replies++; });
    try {
      for (let round = 0; round < 6; round++) {
        const w = new Worker(WORKER, { eval: true, workerData: { addon: ADDON, peer: peer.port, mode } });
        const errors: Error[] = [];
        w.on('error', (e) => errors.push(e));
        const exited = new Promise<number>((r) => w.once('exit', r));
        // A worker that fails before it reports its ports ends the test, not hangs it.
        const ports = await Promise.race([
          new Promise<number[]>((r) => w.once('message', r)),
          exited.then((code) => { throw new Error(`worker exited ${code} before reporting its ports: ${errors[0]?.message}`); }),
        ]);
        const flood = setInterval(() => { for (const p of ports) for (let i = 0; i < 10; i++) peer.send(0x7f000001, p, Buffer.from([round])); }, 1);
        try {
          await new Promise((r) => setTimeout(r, 10 + 5 * round));
          if (mode === 'terminate') await w.terminate();
          const code = await exited;
          if (mode === 'exit') assert.equal(code, 3);
          if (mode === 'throw') assert.match(errors[0]?.message ?? '', /listener bug/);
        } finally { clearInterval(flood); }
      }
      assert.ok(replies > 0, 'the workers answered');
    } finally { peer.close(); }
  });
}
