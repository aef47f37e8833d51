// Two namespaces joined by one veth pair (a server and a DHCP client), named bbk<pid>-…, and a
// real `branchboot` (serve and the other commands) run inside the server's namespace.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cliArgv, ROOT } from '../../helpers/cli.ts';

export interface Ns {
  name: string;
  spawn(argv: string[]): ChildProcess;
  run(argv: string[], opts?: { input?: string; timeoutMs?: number }): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

export interface Pair { server: Ns; client: Ns; destroy(): Promise<void> }

function sh(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
}

function killGroup(p: ChildProcess, sig: NodeJS.Signals): void {
  if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  try { process.kill(-p.pid, sig); } catch { /* gone */ }
}

export function makePair(serverAddr: string, clientMac: string): Pair {
  const id = `bbk${process.pid}-${randomBytes(2).toString('hex')}`;
  const names = [`${id}-s`, `${id}-c`];
  const procs = new Set<ChildProcess>();
  const teardown = () => {
    for (const p of procs) killGroup(p, 'SIGKILL');
    for (const n of names) spawnSync('ip', ['netns', 'del', n]);
  };
  process.on('exit', teardown);
  try {
    for (const n of names) { sh(['ip', 'netns', 'add', n]); sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']); }
    sh(['ip', '-n', names[0]!, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', names[1]!]);
    sh(['ip', '-n', names[1]!, 'link', 'set', 'eth0', 'address', clientMac]);
    sh(['ip', '-n', names[0]!, 'addr', 'add', serverAddr, 'dev', 'eth0']);
    for (const n of names) sh(['ip', '-n', n, 'link', 'set', 'eth0', 'up']);
  } catch (err) { teardown(); throw err; }
  const ns = (name: string): Ns => ({
    name,
    spawn(argv) {
      const p = spawn('ip', ['netns', 'exec', name, ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      procs.add(p);
      p.on('exit', () => procs.delete(p));
      return p;
    },
    run(argv, opts = {}) {
      return new Promise((resolve) => {
        const p = spawn('ip', ['netns', 'exec', name, ...argv], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
        procs.add(p);
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
        p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
        const t = setTimeout(() => { stderr += '[timeout]'; killGroup(p, 'SIGKILL'); }, opts.timeoutMs ?? 60_000);
        p.on('close', (code) => { clearTimeout(t); procs.delete(p); resolve({ code, stdout, stderr }); });
        p.stdin.on('error', () => {});
        p.stdin.end(opts.input ?? '');
      });
    },
  });
  return {
    server: ns(names[0]!), client: ns(names[1]!),
    async destroy() {
      await Promise.all([...procs].map((p) => new Promise<void>((res) => {
        if (p.exitCode !== null || p.signalCode !== null) { res(); return; }
        p.once('exit', () => res());
        killGroup(p, 'SIGTERM');
        setTimeout(() => { killGroup(p, 'SIGKILL'); res(); }, 5000).unref();
      })));
      teardown();
      process.off('exit', teardown);
    },
  };
}

/** `branchboot ARGS` in the namespace. */
export function bb(ns: Ns, ...args: string[]) {
  return ns.run(cliArgv(...args), { timeoutMs: 120_000 });
}

export interface Serve { proc: ChildProcess; logs(): string; stop(): Promise<number | null> }

/** `branchboot serve` in the namespace, once it logged "branchboot running" (log level info). */
export async function serveIn(ns: Ns, cfg: string): Promise<Serve> {
  const proc = ns.spawn(cliArgv('serve', '--config', cfg));
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const deadline = Date.now() + 60_000;
  while (!out.includes('"branchboot running"')) {
    if (proc.exitCode !== null) throw new Error(`serve exited ${proc.exitCode}: ${out}`);
    if (Date.now() > deadline) { killGroup(proc, 'SIGKILL'); throw new Error(`serve did not start: ${out}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    proc, logs: () => out,
    stop: () => new Promise((res) => {
      if (proc.exitCode !== null || proc.signalCode !== null) { res(proc.exitCode); return; }
      proc.once('exit', (code) => res(code));
      killGroup(proc, 'SIGTERM');
    }),
  };
}

/** A udhcpc hook that logs each event and configures the address. */
export function udhcpcScript(dir: string, log: string): string {
  const file = path.join(dir, 'udhcpc.sh');
  fs.writeFileSync(file, `#!/bin/sh\necho "$1 ip=$ip serverid=$serverid" >> ${log}\ncase "$1" in bound|renew) ip addr replace "$ip/$mask" dev "$interface";; deconfig) ip addr flush dev "$interface";; esac\n`, { mode: 0o755 });
  return file;
}
