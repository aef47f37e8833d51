// Fuzz: 100,000 random and mutated packets through the parser and negotiation, and 100,000
// more over UDP at a running server (its request port and a live transfer's port), with a
// deterministic seed. Nothing may throw, the server must still serve afterwards, forget every
// half-open transfer, and not grow its heap.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parsePacket, encodeRequest, encodeAck, encodeError, encodeOack } from '../../../src/tftp/packet.ts';
import { negotiate } from '../../../src/tftp/options.ts';
import { checkName } from '../../../src/tftp/paths.ts';
import { startHarness, prng, randomBytes } from './harness.ts';
import { fuzzCount, fuzzScale, fuzzSeed } from '../../helpers/rng.ts';
import { tftpGet } from './client.ts';

const corpus: Buffer[] = [
  encodeRequest('rrq', 'undionly.kpxe', 'octet'),
  encodeRequest('rrq', 'snponly.efi', 'octet', [{ name: 'tsize', value: '0' }, { name: 'blksize', value: '1468' }, { name: 'windowsize', value: '4' }]),
  encodeRequest('rrq', 'pxelinux.cfg/01-aa-bb-cc-dd-ee-ff', 'netascii', [{ name: 'timeout', value: '1' }]),
  encodeRequest('rrq', '../../etc/passwd', 'octet'),
  encodeRequest('wrq', 'x', 'octet'),
  encodeAck(0), encodeAck(65535), encodeError(8, 'User aborted'),
  encodeOack([{ name: 'blksize', value: '1468' }]),
  Buffer.from([0, 3, 0, 1, 1, 2, 3]),
];

function mutate(r: () => number): Buffer {
  const kind = r() % 4;
  if (kind === 0) return randomBytes(r() % 600, r());
  const base = Buffer.from(corpus[r() % corpus.length]!);
  let b = base;
  const edits = 1 + (r() % 4);
  for (let i = 0; i < edits; i++) {
    const op = r() % 5;
    if (op === 0 && b.length) b[r() % b.length] = r() & 0xff;
    else if (op === 1) b = b.subarray(0, r() % (b.length + 1));
    else if (op === 2) b = Buffer.concat([b, randomBytes(r() % 64, r())]);
    else if (op === 3 && b.length) b[r() % b.length] = 0;
    else b = Buffer.concat([b, Buffer.from('blksize\0' + String(r() % 70000) + '\0windowsize\0' + String(r() % 70) + '\0')]);
  }
  // Keep most mutations recognisable as the opcode we started from.
  if (kind === 1 && b.length >= 2) { b[0] = 0; b[1] = base[1]!; }
  return b;
}

function heapAfterGc(): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc(); gc();
  return process.memoryUsage().heapUsed;
}

describe('tftp fuzz', { timeout: 120_000 * fuzzScale() }, () => {
  test('100,000 packets through parser, negotiation and name checks never throw', () => {
    const r = prng(fuzzSeed(0xb007));
    let requests = 0;
    const n = fuzzCount(100_000);
    for (let i = 0; i < n; i++) {
      const p = parsePacket(mutate(r));
      if (p.op === 'rrq' || p.op === 'wrq') {
        requests++;
        const n = negotiate(p.options, r() % 1e9, { maxBlksize: 65464, pathMtu: 1500, maxWindowBytes: 65536 });
        assert.ok(n.blksize >= 8 && n.blksize <= 65464 && n.windowsize >= 1);
        checkName(p.filename);
      }
    }
    assert.ok(requests > n * 0.03, `mutations should keep many requests parseable (${requests})`);
  });

  test('100,000 packets at a running server: no crash, still serving, no leak', async () => {
    const data = randomBytes(2_000_000, 21);
    const h = await startHarness({ handshakeMs: 300, maxTransfers: 200, maxTransfersPerClient: 200 }, { 'undionly.kpxe': data, 'snponly.efi': data.subarray(0, 5000) });
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
    sock.on('message', () => undefined);
    const r = prng(fuzzSeed(0xf00d));
    const blast = async (count: number, transferPort: () => number) => {
      for (let i = 0; i < count; i++) {
        const target = i % 3 === 0 ? transferPort() : h.port;
        sock.send(mutate(r), target, '127.0.0.1');
        // Let the server drain its socket now and then: we test parsing, not buffer overflow.
        if (i % 200 === 199) await new Promise((res) => setImmediate(res));
      }
    };
    try {
      let port = h.port;
      // A slow legitimate transfer runs throughout; a third of the junk goes to its port.
      const legit = tftpGet({ port: h.port, file: 'undionly.kpxe', options: { blksize: '512' }, timeoutMs: 60_000 * fuzzScale(), dropIn: (_n, from) => { port = from; return false; } });
      await blast(20_000, () => port);
      await h.settle();
      const before = heapAfterGc();
      await blast(fuzzCount(80_000), () => port);
      const got = await legit;
      assert.equal(Buffer.compare(got.data, data), 0, 'the transfer under fire is intact');
      // settle() polls until none is left (handshakeMs 300 here); a fixed 400 ms was a guess at that.
      await h.settle();
      assert.equal(h.server.getStats().active, 0, 'half-open transfers are forgotten');
      const after = heapAfterGc();
      assert.ok(after - before < 16 * 1024 * 1024, `heap grew by ${((after - before) / 1e6).toFixed(1)} MB`);
      const again = await tftpGet({ port: h.port, file: 'snponly.efi', options: { tsize: '0' } });
      assert.equal(again.data.length, 5000);
    } finally {
      sock.close();
      await h.close();
    }
  });
});
