// Quick lock-step A/B on loopback, no namespaces: branchboot's TFTP server in this process
// against in.tftpd on 127.0.0.1, the same curl, alternating order, medians. For iterating on the
// per-block path between full `npm run bench:tftp` runs (which are the numbers to report).
//
//   flock /tmp/branchboot-bench.lock node --import tsx bench/tftp/loopback.ts [-- --runs 5 --size-mb 20 --blksize 512,1468 --threads 2]
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { TftpServer } from '../../src/tftp/server.ts';

const run = promisify(execFile);
const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : def;
};
const RUNS = Number(arg('runs', '5'));
const SIZE = Number(arg('size-mb', '20')) * 1_000_000;
const BLKSIZES = arg('blksize', '512,1468').split(',').map(Number);
const THREADS = Number(arg('threads', '2'));
/** Files above this are read in pieces instead of held in memory whole. */
const CACHE_MAX = Number(arg('cache-max-mb', '32')) * 1_000_000;
const HPA_PORT = 16969;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-tftp-lo-'));
fs.chmodSync(root, 0o755);
fs.writeFileSync(path.join(root, 'f.bin'), crypto.randomBytes(SIZE));
const server = new TftpServer({
  address: '127.0.0.1', port: 0, roots: [root], maxBlksize: 65464, maxTransfers: 10, maxTransfersPerClient: 10,
  generatedFile: async () => undefined, macForIp: async () => undefined, record: () => undefined,
  log: pino({ level: 'silent' }), pathMtu: () => undefined, transferThreads: THREADS, cacheMaxFileBytes: CACHE_MAX,
});
const { port } = await server.start();
const hpa = spawn('in.tftpd', ['-L', '-s', root, '-a', `127.0.0.1:${HPA_PORT}`, '-u', 'root'], { stdio: 'ignore' });
try {
  await new Promise((r) => setTimeout(r, 300));
  const res: Record<string, number[]> = {};
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < RUNS; i++) {
    for (const bs of BLKSIZES) {
      const order: [string, number][] = i % 2 ? [['branchboot', port], ['tftpd-hpa', HPA_PORT]] : [['tftpd-hpa', HPA_PORT], ['branchboot', port]];
      for (const [name, p] of order) {
        const r = await run('curl', ['-sS', '--fail', '-o', '/dev/null', '-w', '%{speed_download}', '--tftp-blksize', String(bs), `tftp://127.0.0.1:${p}/f.bin`]);
        (res[`${name} ${bs}`] ??= []).push(Number(r.stdout) / 1e6);
      }
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const med = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)]!;
  console.log(`loopback, ${SIZE / 1e6} MB, ${RUNS} runs, ${THREADS} transfer threads, load ${os.loadavg()[0]!.toFixed(1)}`);
  for (const bs of BLKSIZES) {
    const b = res[`branchboot ${bs}`]!, h = res[`tftpd-hpa ${bs}`]!;
    console.log(`blksize ${bs}: branchboot ${med(b).toFixed(1)} MB/s, tftpd-hpa ${med(h).toFixed(1)} MB/s, ratio ${(med(b) / med(h)).toFixed(2)}x`);
  }
  const blocks = RUNS * BLKSIZES.reduce((n, bs) => n + Math.floor(SIZE / bs) + 1, 0);
  console.log(`branchboot CPU per block: ${((cpu.user / blocks)).toFixed(1)} us user + ${((cpu.system / blocks)).toFixed(1)} us system`);
} finally {
  hpa.kill();
  await server.stop(0);
  fs.rmSync(root, { recursive: true, force: true });
}
