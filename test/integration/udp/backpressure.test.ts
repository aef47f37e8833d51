// A TFTP window of 16 x 64 KiB overflows a socket's send buffer: what the kernel refuses
// (EAGAIN) must wait and go out in order, never be dropped by us. Loopback in a namespace is
// rate-limited with a token bucket (tbf) so the queue really fills.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createTestNet, canUseNetns } from '../../helpers/netns.ts';

const skip = !canUseNetns() ? 'needs root and network namespaces' : undefined;
const BURST = path.resolve(import.meta.dirname, 'burst.ts');

for (const kind of ['native', 'dgram']) {
  test(`${kind}: a burst 256 times the send buffer arrives whole and in order`, { skip, timeout: 60_000 }, async () => {
    const net = await createTestNet({ hosts: { h: {} } });
    try {
      const h = net.hosts.h!;
      for (const argv of [['ip', 'link', 'set', 'lo', 'up'], ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', '40mbit', 'burst', '32kb', 'latency', '2s']]) {
        const r = await h.run(argv);
        assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      }
      const r = await h.run([process.execPath, '--import', 'tsx', BURST, kind], { timeoutMs: 30_000, cwd: process.cwd() });
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { kind: string; received: number; inOrder: boolean; queuedAfterBurst: number };
      assert.equal(out.kind, kind);
      assert.ok(out.queuedAfterBurst > 0, 'the burst did not fill the send buffer: the test proves nothing');
      assert.equal(out.received, 64);
      assert.ok(out.inOrder);
    } finally {
      await net.destroy();
    }
  });
}
