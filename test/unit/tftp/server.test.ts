// The server in-process on 127.0.0.1 against a small scripted client: option negotiation,
// windows, rollover, loss, wrong TIDs, duplicate ACKs, limits, path safety, size probes.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { startHarness, randomBytes, prng } from './harness.ts';
import { tftpGet } from './client.ts';
import { encodeAck, encodeRequest, parsePacket } from '../../../src/tftp/packet.ts';
import { until } from '../../helpers/until.ts';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/**
 * Sends raw packets from one socket, waits for `want` replies (one per packet by default; a
 * loaded machine can take longer than the window to answer at all), then collects for `waitMs`
 * more, so extra packets (amplification, duplicates) are still seen.
 */
async function exchange(port: number, packets: Buffer[], waitMs = 300, gapMs = 0, want = packets.length): Promise<{ from: number; packet: ReturnType<typeof parsePacket>; raw: Buffer }[]> {
  const sock = dgram.createSocket('udp4');
  const got: { from: number; packet: ReturnType<typeof parsePacket>; raw: Buffer }[] = [];
  sock.on('message', (m, r) => got.push({ from: r.port, packet: parsePacket(m), raw: m }));
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
  for (const p of packets) {
    sock.send(p, port, '127.0.0.1');
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
  }
  await until(() => got.length >= want, `${want} replies`, { timeoutMs: 10_000 }).catch(() => {});
  await new Promise((r) => setTimeout(r, waitMs));
  sock.close();
  return got;
}

// The timeout is a ceiling for a hang, not a speed check: under the sanitizers (asan.test.ts) on a
// loaded two-core host this suite took over 60 s.
describe('tftp server (in-process)', { timeout: 240_000 }, () => {
  test('serves a static file in lock-step and with options, byte-identical, with exact tsize', async () => {
    const data = randomBytes(300_000, 1);
    const h = await startHarness({}, { 'ipxe/undionly.kpxe': data, 'exact.bin': randomBytes(1024, 2) });
    try {
      const plain = await tftpGet({ port: h.port, file: 'ipxe/undionly.kpxe' });
      assert.equal(sha(plain.data), sha(data));
      assert.equal(plain.oack, undefined);
      const opt = await tftpGet({ port: h.port, file: 'ipxe/undionly.kpxe', options: { blksize: '1468', tsize: '0' } });
      assert.equal(sha(opt.data), sha(data));
      assert.deepEqual(opt.oack, { blksize: '1468', tsize: String(data.length) });
      // A size that is a multiple of the block size ends with an empty block.
      const exact = await tftpGet({ port: h.port, file: 'exact.bin', options: { blksize: '512' } });
      assert.equal(exact.data.length, 1024);
      await h.settle();
      assert.equal(h.events.length, 3);
      assert.deepEqual(h.events.map((e) => e.detail.outcome), ['ok', 'ok', 'ok']);
      assert.equal(h.events[0]!.mac, 'aa:bb:cc:dd:ee:ff');
      assert.equal(h.events[1]!.detail.bytes, data.length);
    } finally { await h.close(); }
  });

  test('generated files come from the planner, before the roots, with exact tsize', async () => {
    const h = await startHarness({}, { 'boot.ipxe': 'static, must not win' });
    try {
      const r = await tftpGet({ port: h.port, file: 'boot.ipxe', options: { tsize: '0' } });
      assert.equal(r.data.toString(), 'generated boot.ipxe for 127.0.0.1 aa:bb:cc:dd:ee:ff\n');
      assert.equal(r.oack?.tsize, String(r.data.length));
      const px = await tftpGet({ port: h.port, file: 'pxelinux.cfg/01-aa-bb-cc-dd-ee-ff' });
      assert.match(px.data.toString(), /^generated pxelinux/);
      const missing = await tftpGet({ port: h.port, file: 'pxelinux.cfg/default' });
      assert.equal(missing.error?.code, 1);
    } finally { await h.close(); }
  });

  test('windows, large blocks read from the file, and block numbers past 65535', async () => {
    // Cache off: exercise the file source. 70,000 blocks of 8 bytes roll the counter over.
    const big = randomBytes(3_000_000, 3);
    const roll = randomBytes(8 * 70_000 + 3, 4);
    const h = await startHarness({ cacheMaxFileBytes: 0 }, { 'big.bin': big, 'roll.bin': roll });
    try {
      const w = await tftpGet({ port: h.port, file: 'big.bin', options: { blksize: '1468', windowsize: '16' } });
      assert.equal(sha(w.data), sha(big));
      assert.equal(w.oack?.windowsize, '16');
      const j = await tftpGet({ port: h.port, file: 'big.bin', options: { blksize: '65464', windowsize: '16' } });
      assert.equal(sha(j.data), sha(big));
      assert.equal(j.oack?.windowsize, '1', 'a 64 KiB block gets a window of 1 (bytes-in-flight cap)');
      const r = await tftpGet({ port: h.port, file: 'roll.bin', options: { blksize: '8', windowsize: '32' }, timeoutMs: 30_000 });
      assert.equal(sha(r.data), sha(roll));
      // In lock-step the socket's relay (native/lockstep.c) sends blocks 3 to the end.
      const l = await tftpGet({ port: h.port, file: 'roll.bin', options: { blksize: '8' }, timeoutMs: 60_000 });
      assert.equal(sha(l.data), sha(roll));
    } finally { await h.close(); }
  });

  test('completes under 10% loss each way, lock-step and windowed, without duplicate-ACK storms', async () => {
    const data = randomBytes(100_000, 5);
    const h = await startHarness({ cacheMaxFileBytes: 0 }, { 'f.bin': data });
    try {
      const r1 = prng(11), r2 = prng(12), r3 = prng(13), r4 = prng(14);
      const a = await tftpGet({ port: h.port, file: 'f.bin', options: { blksize: '1468' }, dropIn: () => r1() % 10 === 0, dropOut: () => r2() % 10 === 0, rexmitMs: 300 });
      assert.equal(sha(a.data), sha(data));
      const b = await tftpGet({ port: h.port, file: 'f.bin', options: { blksize: '1468', windowsize: '8' }, dropIn: () => r3() % 10 === 0, dropOut: () => r4() % 10 === 0, rexmitMs: 300 });
      assert.equal(sha(b.data), sha(data));
      // Every ACK sent twice: a sorcerer's-apprentice server would double every DATA packet.
      const blocks = Math.floor(data.length / 512) + 1;
      // No loss here, so no client retransmissions (rexmitMs far out) and a 10% margin: a stall of
      // either side past a retransmission timer on a loaded machine costs a packet or two, and
      // the failure this guards against doubles the count.
      const c = await tftpGet({ port: h.port, file: 'f.bin', duplicateAcks: true, rexmitMs: 30_000 });
      assert.equal(sha(c.data), sha(data));
      assert.ok(c.dataPackets <= blocks + Math.ceil(blocks / 10), `${c.dataPackets} DATA packets for ${blocks} blocks`);
    } finally { await h.close(); }
  });

  test('after a lost OACK, each loss in the relayed part costs one short timer, not a growing backoff', async () => {
    // The OACK is lost, so the handshake gives no round trip, and the native relay answers
    // every ACK after it out of JavaScript's sight. Its round trips must reach the timer: before
    // they did, each loss doubled the timer up to 5 s and nothing brought it back (curl under
    // 10% loss gave up in a third of its transfers). Here 6 DATA are lost: ~17 s that way.
    const data = randomBytes(100_000, 21);
    const h = await startHarness({ cacheMaxFileBytes: 0 }, { 'f.bin': data });
    try {
      const t0 = Date.now();
      const r = await tftpGet({ port: h.port, file: 'f.bin', options: { blksize: '1468' }, dropIn: (n) => n === 0 || (n >= 10 && n % 10 === 0), rexmitMs: 1000, timeoutMs: 60_000 });
      assert.equal(sha(r.data), sha(data));
      const ms = Date.now() - t0;
      assert.ok(ms < 7000, `${ms} ms (the client's repeated request alone is 1 s)`);
    } finally { await h.close(); }
  });

  test('a packet from a wrong TID gets error 5 and the transfer carries on', async () => {
    const data = randomBytes(100_000, 6);
    const h = await startHarness({}, { 'f.bin': data });
    try {
      let intruder: Promise<Awaited<ReturnType<typeof exchange>>> | undefined;
      const res = await tftpGet({
        port: h.port, file: 'f.bin',
        dropIn: (n, from) => {
          // Once the transfer port is known, a stranger sends it an ACK and an ERROR.
          if (n === 5) intruder = exchange(from, [encodeAck(7), Buffer.from([0, 5, 0, 0, 0])], 200);
          return false;
        },
      });
      assert.equal(sha(res.data), sha(data));
      assert.ok(intruder);
      const got = await intruder;
      assert.equal(got.length, 2);
      for (const g of got) assert.deepEqual(g.packet.op === 'error' && g.packet.code, 5);
    } finally { await h.close(); }
  });

  test('refuses writes, unknown modes, unsafe names and symlinks out of the root with one error', async () => {
    const h = await startHarness({}, { 'ok.txt': 'ok' });
    const outside = fs.mkdtempSync(path.join(h.root, '..', 'bb-outside-'));
    fs.writeFileSync(path.join(outside, 'secret'), 'secret');
    fs.symlinkSync(path.join(outside, 'secret'), path.join(h.root, 'link'));
    fs.symlinkSync(outside, path.join(h.root, 'dirlink'));
    try {
      const wrq = await exchange(h.port, [encodeRequest('wrq', 'x', 'octet')]);
      assert.equal(wrq.length, 1);
      assert.deepEqual(wrq[0]!.packet.op === 'error' && wrq[0]!.packet.code, 2);
      const mail = await exchange(h.port, [encodeRequest('rrq', 'ok.txt', 'mail')]);
      assert.deepEqual(mail[0]!.packet.op === 'error' && mail[0]!.packet.code, 4);
      for (const name of ['../etc/passwd', 'a/../../etc/passwd', '/etc/passwd', '..\\..\\etc\\passwd', '%2e%2e/etc/passwd', '..%2fetc', 'link', 'dirlink/secret', 'a//b', './ok.txt']) {
        const got = await exchange(h.port, [encodeRequest('rrq', name, 'octet')], 150);
        assert.equal(got.length, 1, name);
        assert.deepEqual(got[0]!.packet.op === 'error' && got[0]!.packet.code, 2, name);
      }
      // A NUL inside the name splits it; what follows is not a valid mode.
      const nul = await exchange(h.port, [Buffer.concat([Buffer.from([0, 1]), Buffer.from('ok.txt\0../x\0octet\0')])], 150);
      assert.equal(nul.length, 1);
      assert.equal(nul[0]!.packet.op, 'error');
      await h.settle();
      assert.ok(h.events.some((e) => e.detail.outcome === 'refused' && e.detail.reason === 'symlink outside root'));
    } finally {
      await h.close();
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  test('netascii is converted (CR LF), and tsize is the converted size', async () => {
    const h = await startHarness({}, { 'menu.txt': 'a\nb\rc\n' });
    try {
      const r = await tftpGet({ port: h.port, file: 'menu.txt', mode: 'netascii', options: { tsize: '0' } });
      assert.equal(r.data.toString('latin1'), 'a\r\nb\r\0c\r\n');
      assert.equal(r.oack?.tsize, String(r.data.length));
    } finally { await h.close(); }
  });

  test('a tsize probe aborted with error 8 is a size probe, not a failure', async () => {
    const h = await startHarness({}, { 'snponly.efi': randomBytes(5000, 7) });
    try {
      const r = await tftpGet({ port: h.port, file: 'snponly.efi', options: { tsize: '0' }, abortAfterOack: 8 });
      assert.equal(r.oack?.tsize, '5000');
      await h.settle();
      assert.equal(h.events[0]?.detail.outcome, 'size-probe');
      assert.equal(h.server.getStats().failed, 0);
    } finally { await h.close(); }
  });

  test('no amplification: an unanswered OACK or DATA 1 is never retransmitted by timer', async () => {
    const h = await startHarness({ handshakeMs: 1200 }, { 'f.bin': randomBytes(100_000, 8) });
    try {
      const withOpts = await exchange(h.port, [encodeRequest('rrq', 'f.bin', 'octet', [{ name: 'blksize', value: '1468' }])], 1000);
      assert.equal(withOpts.length, 1);
      assert.equal(withOpts[0]!.packet.op, 'oack');
      const plain = await exchange(h.port, [encodeRequest('rrq', 'f.bin', 'octet')], 1000);
      assert.equal(plain.length, 1);
      assert.equal(plain[0]!.raw.length, 516);
      // A repeated request gets one packet per request.
      const twice = await exchange(h.port, [encodeRequest('rrq', 'f.bin', 'octet', [{ name: 'tsize', value: '0' }]), encodeRequest('rrq', 'f.bin', 'octet', [{ name: 'tsize', value: '0' }])], 600, 200);
      assert.equal(twice.length, 2);
      // Forgotten after handshakeMs (1.2 s here, 12 s by default, the deadline 30 min): poll, not a fixed 1 s.
      await until(() => h.server.getStats().active === 0, 'unverified transfers forgotten', { timeoutMs: 10_000 }).catch(() => {});
      assert.equal(h.server.getStats().active, 0, 'unverified transfers are forgotten');
    } finally { await h.close(); }
  });

  test('per-client and global limits answer the excess with one small error', async () => {
    const h = await startHarness({ maxTransfersPerClient: 2, maxTransfers: 3, handshakeMs: 500 }, { 'f.bin': randomBytes(10_000, 9) });
    try {
      const reqs = [1, 2, 3, 4].map(() => encodeRequest('rrq', 'f.bin', 'octet', [{ name: 'tsize', value: '0' }]));
      // Four requests from four ports of one address: two transfers, two refusals.
      const socks = await Promise.all(reqs.map((r) => exchange(h.port, [r], 300)));
      const kinds = socks.map((g) => g.map((x) => x.packet.op).join(','));
      assert.equal(kinds.filter((k) => k === 'oack').length, 2, kinds.join(' '));
      assert.equal(kinds.filter((k) => k === 'error').length, 2, kinds.join(' '));
      for (const g of socks) assert.ok(g.length === 1 && g[0]!.raw.length < 64);
    } finally { await h.close(); }
  });

  test('a client that stops acknowledging is dropped after bounded retries', async () => {
    const h = await startHarness({ maxRetries: 2 }, { 'f.bin': randomBytes(100_000, 10) });
    try {
      const r = tftpGet({ port: h.port, file: 'f.bin', options: { blksize: '1468' }, stallAfter: 10, timeoutMs: 30_000 });
      const res = await r;
      assert.equal(res.error?.code, 0, 'the server says why it gave up');
      await h.settle();
      assert.equal(h.events[0]?.detail.outcome, 'timeout');
    } finally { await h.close(); }
  });

  test('a transfer that outlives its deadline is cut, and ACKs for blocks never sent are ignored', async () => {
    const h = await startHarness({ deadlineMs: 400, maxRetries: 100 }, { 'f.bin': randomBytes(100_000, 11) });
    try {
      const res = await tftpGet({ port: h.port, file: 'f.bin', stallAfter: 5, timeoutMs: 30_000 });
      assert.equal(res.error?.code, 0);
      assert.match(res.error?.message ?? '', /took too long/);
      await h.settle();
      assert.ok(h.events.some((e) => e.detail.outcome === 'deadline'));
    } finally { await h.close(); }
    // A server without the 400 ms deadline: under load the two 100 ms sleeps here used to eat it
    // (an error instead of block 2), or DATA 1 had not come yet and the ACKs went to port 0.
    const h2 = await startHarness({}, { 'f.bin': randomBytes(100_000, 11) });
    const sock = dgram.createSocket('udp4');
    try {
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      const got: ReturnType<typeof parsePacket>[] = [];
      let from = 0;
      sock.on('message', (m, r) => { from = r.port; got.push(parsePacket(m)); });
      sock.send(encodeRequest('rrq', 'f.bin', 'octet'), h2.port, '127.0.0.1');
      await until(() => got.length >= 1, 'DATA 1');
      // ACK 500 before block 500 exists: ignored. ACK 1: block 2 follows.
      sock.send(encodeAck(500), from, '127.0.0.1');
      sock.send(encodeAck(1), from, '127.0.0.1');
      await until(() => got.length >= 2, 'a reply to the ACKs');
      assert.deepEqual(got.map((p) => (p.op === 'data' ? p.block : p.op)), [1, 2]);
    } finally { sock.close(); await h2.close(); }
  });
});
