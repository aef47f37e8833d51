// Real TFTP clients from Debian (curl, tftp-hpa, atftp) against branchboot's TFTP service in a
// throwaway network namespace pair: a 50 MB random file and a generated per-client file arrive
// byte-identical, a transfer survives 10% loss (nftables, netem is not available here),
// traversal attempts get error 2, and every request is a boot event with the client's MAC
// from the lease table.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createTestNet, canUseNetns, type TestNet, type NetHost } from '../../helpers/netns.ts';

const SERVER = '10.78.0.1';
const CLIENT = '10.78.0.2';
const CLIENT_MAC = '02:00:00:78:00:02';
const GEN_NAME = 'pxelinux.cfg/01-02-00-00-78-00-02';
const GEN_TEXT = 'DEFAULT linux\nLABEL linux\n  KERNEL vmlinuz\n';
const RUNNER = path.resolve(import.meta.dirname, 'runner.ts');

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const hasTool = (t: string) => { try { execFileSync('which', [t], { stdio: 'ignore' }); return true; } catch { return false; } };

describe('tftp with real clients', { timeout: 240_000 }, () => {
  const skip = !canUseNetns() ? 'needs root and network namespaces' : !['curl', 'tftp', 'atftp', 'nft'].every(hasTool) ? 'needs curl, tftp-hpa, atftp, nftables (scripts/apt/tftp.txt)' : undefined;
  let net: TestNet | undefined;
  let client: NetHost;
  let runner: ChildProcess | undefined;
  let work = '';
  let bigSha = '';
  let output = '';
  const events = () => output.split('\n').filter((l) => l.startsWith('event ')).map((l) => JSON.parse(l.slice(6)) as { mac?: string; ip?: string; stage: string; detail: Record<string, unknown> });
  const genExpected = `${GEN_TEXT}# for ${CLIENT_MAC}\n`;

  before(async () => {
    if (skip) return;
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-tftp-it-'));
    fs.chmodSync(work, 0o755);
    const root = path.join(work, 'root');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    execFileSync('sh', ['-c', `head -c 50000000 /dev/urandom > ${root}/big.bin && head -c 200000 /dev/urandom > ${root}/small.bin`]);
    bigSha = sha(path.join(root, 'big.bin'));
    fs.writeFileSync(path.join(work, 'secret.txt'), 'outside the root\n');
    fs.symlinkSync(path.join(work, 'secret.txt'), path.join(root, 'sub', 'escape'));
    net = await createTestNet({ hosts: { server: { addr: `${SERVER}/24` }, client: { addr: `${CLIENT}/24`, mac: CLIENT_MAC } } });
    client = net.hosts.client!;
    const cfg = {
      address: SERVER, port: 69, roots: [root], db: path.join(work, 'tftp.db'),
      generated: { name: GEN_NAME, content: Buffer.from(GEN_TEXT).toString('base64') },
      leases: [{ ip: CLIENT, mac: CLIENT_MAC }],
    };
    runner = net.hosts.server!.spawn(['node', '--import', 'tsx', RUNNER, JSON.stringify(cfg)], { cwd: path.resolve(import.meta.dirname, '../../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`runner did not start: ${output}`)), 30_000);
      runner!.stdout!.on('data', (d: Buffer) => { output += d.toString(); if (output.includes('ready')) { clearTimeout(t); resolve(); } });
      runner!.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
      runner!.on('exit', (code) => { clearTimeout(t); reject(new Error(`runner exited ${code}: ${output}`)); });
    });
  });

  after(async () => {
    await net?.destroy();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const fetch = async (argv: string[], out: string, timeoutMs = 90_000) => {
    fs.rmSync(out, { force: true });
    const r = await client.run(argv, { timeoutMs });
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    return r;
  };

  for (const bs of [512, 1468, 65464]) {
    test(`curl --tftp-blksize ${bs}: 50 MB file and generated file byte-identical`, { skip }, async () => {
      const out = path.join(work, `curl-${bs}`);
      await fetch(['curl', '-sS', '--fail', '--tftp-blksize', String(bs), '-o', out, `tftp://${SERVER}/big.bin`], out);
      assert.equal(sha(out), bigSha);
      await fetch(['curl', '-sS', '--fail', '--tftp-blksize', String(bs), '-o', out, `tftp://${SERVER}/${GEN_NAME}`], out);
      assert.equal(fs.readFileSync(out, 'utf8'), genExpected);
    });
  }

  test('tftp-hpa (RFC 1350, no options: block numbers roll over past 65535)', { skip }, async () => {
    const out = path.join(work, 'hpa');
    await fetch(['tftp', '-m', 'binary', SERVER, '-c', 'get', 'big.bin', out], out);
    assert.equal(sha(out), bigSha);
    await fetch(['tftp', '-m', 'binary', SERVER, '-c', 'get', GEN_NAME, out], out);
    assert.equal(fs.readFileSync(out, 'utf8'), genExpected);
  });

  test('atftp with blksize 1468 and windowsize 8', { skip }, async () => {
    const out = path.join(work, 'atftp');
    const opts = ['--option', 'blksize 1468', '--option', 'windowsize 8'];
    await fetch(['atftp', ...opts, '-g', '-r', 'big.bin', '-l', out, SERVER], out);
    assert.equal(sha(out), bigSha);
    await fetch(['atftp', ...opts, '-g', '-r', GEN_NAME, '-l', out, SERVER], out);
    assert.equal(fs.readFileSync(out, 'utf8'), genExpected);
  });

  test('completes under 10% packet loss each way (nftables numgen)', { skip }, async () => {
    // Drop on input in both namespaces: DATA on its way to the client, ACKs on their way to
    // the server. (Dropping on output would make the client's own send fail with EPERM.)
    const lossy = [client, net!.hosts.server!];
    const nft = (host: NetHost, args: string) => execFileSync('ip', ['netns', 'exec', host.ns, 'sh', '-c', args]);
    for (const h of lossy) nft(h, `nft add table inet loss && nft add chain inet loss in '{ type filter hook input priority 0; }' && nft add rule inet loss in meta l4proto udp numgen random mod 10 0 drop`);
    try {
      const out = path.join(work, 'lossy');
      const small = path.join(work, 'root', 'small.bin');
      // curl re-sends its request or last ACK every timeout/retries seconds (tftp.c: retries =
      // timeout/5 clamped to 3..50; the connect timeout before the OACK, the transfer's
      // remaining time after it, 72 s without --max-time). The server sends nothing twice
      // before the handshake (no amplification), so a lost RRQ, OACK or ACK 0 costs one curl
      // retry: 90 s gives 18 retries of 5 s (25 runs here took 7-48 s, the test file as a whole).
      await fetch(['curl', '-sS', '--fail', '--connect-timeout', '90', '--max-time', '90', '--tftp-blksize', '1468', '-o', out, `tftp://${SERVER}/small.bin`], out, 120_000);
      assert.equal(sha(out), sha(small));
      await fetch(['atftp', '--tftp-timeout', '1', '--option', 'blksize 1468', '--option', 'windowsize 8', '-g', '-r', 'small.bin', '-l', out, SERVER], out, 120_000);
      assert.equal(sha(out), sha(small));
      if (process.env.TFTP_DEBUG) console.log(events().filter((e) => e.detail.file === 'small.bin'));
    } finally {
      for (const h of lossy) nft(h, 'nft delete table inet loss');
    }
  });

  test('traversal attempts get error 2 (access violation)', { skip }, async () => {
    for (const name of ['../secret.txt', '../../etc/passwd', '/etc/passwd', 'sub/escape', 'sub/../../secret.txt', '..\\secret.txt', '%2e%2e/secret.txt']) {
      const out = path.join(work, 'trav');
      fs.rmSync(out, { force: true });
      const r = await client.run(['tftp', '-m', 'binary', SERVER, '-c', 'get', name, out], { timeoutMs: 20_000 });
      assert.match(r.stdout + r.stderr, /Error code 2/, `${name}: ${r.stdout}${r.stderr}`);
    }
    // curl normalises "..", unless told to send the path as is.
    const r = await client.run(['curl', '-sS', '--path-as-is', '-o', '/dev/null', `tftp://${SERVER}/../secret.txt`], { timeoutMs: 20_000 });
    assert.equal(r.code, 69, 'CURLE_TFTP_PERM: the server answered error 2');
  });

  test('every request is a boot event with the MAC from the lease table', { skip }, async () => {
    // Events are batched by the EventBus (100 ms).
    await new Promise((r) => setTimeout(r, 300));
    const evs = events().filter((e) => e.stage === 'tftp.file');
    const ok = evs.filter((e) => e.detail.outcome === 'ok' && e.detail.file === 'big.bin');
    assert.ok(ok.length >= 5, `${ok.length} completed big.bin transfers`);
    for (const e of ok) {
      assert.equal(e.mac, CLIENT_MAC);
      assert.equal(e.ip, CLIENT);
      assert.equal(e.detail.bytes, 50_000_000);
      assert.equal(typeof e.detail.ms, 'number');
    }
    assert.ok(evs.some((e) => e.detail.outcome === 'refused'), 'refusals are events too');
  });
});
