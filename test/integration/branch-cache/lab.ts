// A central site and a branch in two network namespaces joined by one veth (the uplink), the
// real `branchboot serve` in `central`, and nginx running contrib/branch-cache/nginx.conf in
// `branch`. Used by the branch-cache tests and by `npm run bench:lab` (bench/lab/run.ts), which
// also shapes the uplink with tbf (netem is not available on these kernels:
// ../shared/notes/test-network.md) and reads the uplink's byte counters.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cliArgv, runCli, ROOT } from '../../helpers/cli.ts';

export const CENTRAL_ADDR = '10.211.0.1';
export const BRANCH_ADDR = '10.211.0.2';
export const CENTRAL_PORT = 8080;
export const CACHE_PORT = 8080;
export const CENTRAL_URL = `http://${CENTRAL_ADDR}:${CENTRAL_PORT}`;
/** nginx listens on every address of the branch namespace; clients there use its uplink address. */
export const CACHE_URL = `http://${BRANCH_ADDR}:${CACHE_PORT}`;
/**
 * A desktop of the branch, as an address of its own in the branch namespace (curl --interface):
 * nginx sees it as the client, central sees only the cache's uplink address as the peer.
 */
export const DESKTOP_ADDR = '10.211.1.11';
export const SITE_CONF = path.join(ROOT, 'contrib', 'branch-cache', 'nginx.conf');

export interface RunResult { code: number | null; stdout: string; stderr: string }

export interface LabNet {
  central: string;
  branch: string;
  /** Runs a command in a namespace; resolves when it exits (killed after timeoutMs). */
  run(ns: string, argv: string[], opts?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  /** A long-running process in a namespace, killed (its process group, by PID) on destroy(). */
  spawn(ns: string, argv: string[]): ChildProcess;
  /** tbf on both ends of the uplink (e.g. '100mbit'); undefined removes it. */
  shape(rate: string | undefined): void;
  /** Bytes the uplink carried so far: central → branch, branch → central. */
  uplinkBytes(): { down: number; up: number };
  destroy(): Promise<void>;
}

function sh(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
}

export function canRunLab(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const t of ['ip', 'tc', 'nginx', 'casync', 'curl', 'mksquashfs']) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) return `missing ${t}`;
  }
  return undefined;
}

/** Namespaces bbu<pid>… left by a run whose process is gone. */
function sweep(): void {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /^(bbu(\d+)-\S+)/.exec(line);
    if (!m) continue;
    try { process.kill(Number(m[2]), 0); } catch { spawnSync('ip', ['netns', 'del', m[1]!]); }
  }
}

function killGroup(p: ChildProcess, sig: NodeJS.Signals): void {
  if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  try { process.kill(-p.pid, sig); } catch { /* gone */ }
}

export function createLabNet(): LabNet {
  sweep();
  const id = `bbu${process.pid}-${randomBytes(2).toString('hex')}`;
  const central = `${id}-c`;
  const branch = `${id}-b`;
  const procs = new Set<ChildProcess>();
  const made: string[] = [];
  const teardown = () => {
    for (const p of procs) killGroup(p, 'SIGKILL');
    for (const ns of made.reverse()) spawnSync('ip', ['netns', 'del', ns]);
    made.length = 0;
  };
  process.on('exit', teardown);
  try {
    for (const ns of [central, branch]) {
      sh(['ip', 'netns', 'add', ns]);
      made.push(ns);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    sh(['ip', '-n', central, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'uplink', 'netns', branch]);
    sh(['ip', '-n', central, 'addr', 'add', `${CENTRAL_ADDR}/24`, 'dev', 'uplink']);
    sh(['ip', '-n', branch, 'addr', 'add', `${BRANCH_ADDR}/24`, 'dev', 'uplink']);
    sh(['ip', '-n', central, 'link', 'set', 'uplink', 'up']);
    sh(['ip', '-n', branch, 'link', 'set', 'uplink', 'up']);
    sh(['ip', '-n', branch, 'addr', 'add', `${DESKTOP_ADDR}/32`, 'dev', 'lo']);
  } catch (err) {
    teardown();
    throw err;
  }
  const counter = (ns: string, what: string) =>
    Number(spawnSync('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/uplink/statistics/${what}`], { encoding: 'utf8' }).stdout.trim());
  return {
    central, branch,
    run(ns, argv, opts = {}) {
      return new Promise((resolve) => {
        const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...opts.env } });
        procs.add(p);
        let stdout = '';
        let stderr = '';
        p.stdout!.on('data', (d: Buffer) => { stdout += d.toString('latin1'); });
        p.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
        const t = setTimeout(() => { stderr += `\n[timeout after ${opts.timeoutMs ?? 60_000} ms]`; killGroup(p, 'SIGKILL'); }, opts.timeoutMs ?? 60_000);
        p.on('error', (err) => { stderr += String(err); });
        p.on('close', (code) => { clearTimeout(t); procs.delete(p); resolve({ code, stdout, stderr }); });
      });
    },
    spawn(ns, argv) {
      const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      procs.add(p);
      p.on('exit', () => procs.delete(p));
      return p;
    },
    shape(rate) {
      for (const ns of [central, branch]) {
        spawnSync('tc', ['-n', ns, 'qdisc', 'del', 'dev', 'uplink', 'root']);
        // burst: at least rate/HZ; 32kbit is too small past 100mbit and caps a 1gbit line low.
        const burst = rate === '1gbit' ? '1mbit' : '256kbit';
        if (rate) sh(['tc', '-n', ns, 'qdisc', 'add', 'dev', 'uplink', 'root', 'tbf', 'rate', rate, 'burst', burst, 'latency', '400ms']);
      }
    },
    uplinkBytes: () => ({ down: counter(branch, 'rx_bytes'), up: counter(branch, 'tx_bytes') }),
    async destroy() {
      await Promise.all([...procs].map((p) => new Promise<void>((res) => {
        if (p.exitCode !== null || p.signalCode !== null) return res();
        p.once('exit', () => res());
        killGroup(p, 'SIGTERM');
        setTimeout(() => { killGroup(p, 'SIGKILL'); res(); }, 3000).unref();
      })));
      teardown();
      process.off('exit', teardown);
    },
  };
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not come up in ${timeoutMs} ms`);
}

export interface Central {
  dir: string;
  config: string;
  proc: ChildProcess;
  logs(): string;
  /** `branchboot image import` against this central's data (serve keeps running). */
  importImage(file: string, args: string[]): Promise<void>;
  apply(inventoryYaml: string): Promise<void>;
  /** Any other `branchboot` command against this central's data; its stdout. */
  cli(args: string[]): Promise<string>;
}

/**
 * `branchboot serve` (from source) in the central namespace, its data under dir.
 * `trustedProxies`: its http.trustedProxies (the cache's uplink address, BRANCH_ADDR).
 */
export async function startCentral(net: LabNet, dir: string, opts: { trustedProxies?: string[] } = {}): Promise<Central> {
  fs.mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'branchboot.yaml');
  const trusted = opts.trustedProxies?.length ? `  trustedProxies: [${opts.trustedProxies.join(', ')}]\n` : '';
  fs.writeFileSync(config, `dataDir: ${path.join(dir, 'var')}\nlog:\n  level: warn\nhttp:\n  address: ${CENTRAL_ADDR}\n  port: ${CENTRAL_PORT}\n${trusted}`);
  const proc = net.spawn(net.central, cliArgv('serve', '--config', config));
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  await until('branchboot serve', async () => {
    if (proc.exitCode !== null) throw new Error(`serve exited ${proc.exitCode}: ${out}`);
    const r = await net.run(net.central, ['curl', '-sf', '-o', '/dev/null', `${CENTRAL_URL}/healthz`], { timeoutMs: 5000 });
    return r.code === 0;
  }, 90_000);
  const cli = async (args: string[], input?: string) => {
    const r = await runCli([...args, '--config', config], { timeoutMs: 600_000, ...(input !== undefined && { input }) });
    if (r.code !== 0) throw new Error(`branchboot ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  return {
    dir, config, proc, logs: () => out, cli: (args) => cli(args),
    importImage: async (file, args) => { await cli(['image', 'import', file, ...args]); },
    async apply(yaml) {
      const f = path.join(dir, 'inventory.yaml');
      fs.writeFileSync(f, yaml);
      await cli(['apply', f]);
    },
  };
}

/**
 * contrib/branch-cache/nginx.conf with only its three CHANGE lines and its log path replaced
 * (and the slice size, when a benchmark compares another)
 * (each must occur once, so the file a test runs is the file an admin drops in).
 */
export function siteConfig(dir: string, opts: { slice?: string | undefined } = {}): string {
  let text = fs.readFileSync(SITE_CONF, 'utf8');
  const swap = (re: RegExp, to: string) => {
    const hits = text.match(new RegExp(re.source, 'gm'))?.length ?? 0;
    if (hits !== 1) throw new Error(`${SITE_CONF}: ${re} matched ${hits} times`);
    text = text.replace(re, to);
  };
  swap(/^proxy_cache_path \/var\/cache\/nginx\/branchboot /m, `proxy_cache_path ${path.join(dir, 'cache')} `);
  swap(/^ {4}server 192\.0\.2\.10:8080;/m, `    server ${CENTRAL_ADDR}:${CENTRAL_PORT};`);
  swap(/^ {4}listen 8080;/m, `    listen ${CACHE_PORT};`);
  swap(/access_log \/var\/log\/nginx\/branchboot-cache\.log /m, `access_log ${path.join(dir, 'access.log')} `);
  // bench:lab's A/B of the slice size (BENCH_LAB_SLICE); tests run the file's own.
  if (opts.slice) swap(/^ {8}slice 1m;/m, `        slice ${opts.slice};`);
  return text;
}

export interface BranchCache {
  accessLog: string;
  /** Access-log lines so far. */
  lines(): string[];
  stop(): Promise<void>;
}

/** nginx in the branch namespace with the drop-in site config under a minimal main config. */
export async function startBranchCache(net: LabNet, dir: string, opts: { slice?: string | undefined } = {}): Promise<BranchCache> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'cache'), { recursive: true });
  // nginx's workers run as www-data (nginx chowns the cache folder to them): a mkdtemp parent (0700) would shut them out.
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) if ((fs.statSync(d).mode & 0o001) === 0) fs.chmodSync(d, fs.statSync(d).mode | 0o011);
  fs.writeFileSync(path.join(dir, 'site.conf'), siteConfig(dir, opts));
  const main = path.join(dir, 'nginx.conf');
  const tmp = (n: string) => `${n}_temp_path ${path.join(dir, `${n}-tmp`)};`;
  fs.writeFileSync(main, [
    'daemon off;', 'worker_processes 2;', `pid ${path.join(dir, 'nginx.pid')};`, `error_log ${path.join(dir, 'error.log')} warn;`,
    'events { worker_connections 1024; }',
    `http { access_log off; ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(tmp).join(' ')}`,
    `  include ${path.join(dir, 'site.conf')};`, '}', '',
  ].join('\n'));
  const check = await net.run(net.branch, ['nginx', '-t', '-q', '-c', main]);
  if (check.code !== 0) throw new Error(`nginx -t: ${check.stderr}`);
  const proc = net.spawn(net.branch, ['nginx', '-c', main]);
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  await until('nginx', async () => {
    if (proc.exitCode !== null) throw new Error(`nginx exited ${proc.exitCode}: ${out}`);
    const r = await net.run(net.branch, ['curl', '-s', '-o', '/dev/null', `${CACHE_URL}/healthz`], { timeoutMs: 5000 });
    return r.code === 0;
  }, 30_000);
  const accessLog = path.join(dir, 'access.log');
  return {
    accessLog,
    lines: () => (fs.existsSync(accessLog) ? fs.readFileSync(accessLog, 'utf8').split('\n').filter(Boolean) : []),
    stop: () => new Promise<void>((res) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return res();
      proc.once('exit', () => res());
      // QUIT: nginx's graceful stop; the master takes its workers with it.
      proc.kill('SIGQUIT');
      setTimeout(() => { if (proc.pid !== undefined) try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } res(); }, 5000).unref();
    }),
  };
}
