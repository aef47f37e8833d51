// Throwaway test networks: network namespaces joined by bridges, so real clients and the real
// server talk over real interfaces without touching the machine's own network. Addresses
// exist only inside the namespaces. Everything is torn down on destroy(), and on process exit
// if a test forgot or crashed.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface Attachment {
  segment: string;
  ifname?: string;          // default eth0, eth1, … in order
  addr?: string;            // CIDR, e.g. 10.99.0.1/24; none = the client configures it (DHCP)
  mac?: string;
}

export interface NetSpec {
  segments?: string[];      // bridges; default ['lan']
  hosts: Record<string, Attachment[] | { addr?: string; mac?: string }>;
}

export interface RunResult { code: number | null; stdout: string; stderr: string }

export interface NetHost {
  name: string;
  ns: string;
  ifnames: string[];
  /** Runs a command in the namespace and waits for it (bounded by timeoutMs, default 30 s). */
  run(argv: string[], opts?: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<RunResult>;
  /** Starts a long-running process in the namespace; it is killed on destroy(). */
  spawn(argv: string[], opts?: SpawnOptions): ChildProcess;
}

export interface TestNet {
  id: string;
  hosts: Record<string, NetHost>;
  /** Kills every process started through it (by PID), then deletes the namespaces. */
  destroy(): Promise<void>;
}

// BB_NETNS_PREFIX: helpers working side by side on one machine each get their own names.
const PREFIX = /^[a-z]{2,8}$/.test(process.env.BB_NETNS_PREFIX ?? '') ? process.env.BB_NETNS_PREFIX! : 'bbt';

const live = new Set<() => void>();
let exitHookInstalled = false;

function sh(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
}

export function canUseNetns(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).status === 0;
}

/** Deletes namespaces left by earlier runs whose process is gone (names carry the pid). */
export function sweepStaleNamespaces(): void {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = new RegExp(`^(${PREFIX}(\\d+)-\\S+)`).exec(line);
    if (!m) continue;
    const pid = Number(m[2]);
    let alive = true;
    try { process.kill(pid, 0); } catch { alive = false; }
    if (!alive) spawnSync('ip', ['netns', 'del', m[1]!]);
  }
}

let counter = 0;

export async function createTestNet(spec: NetSpec): Promise<TestNet> {
  if (!canUseNetns()) throw new Error('test networks need root and iproute2 (ip netns)');
  sweepStaleNamespaces();
  // The random part: a run killed outright (SIGKILL, runner timeout) leaves its namespaces behind,
  // and with pid_max 32768 a later test process can get the same pid; the sweep spares those
  // (that pid is alive again) and `ip netns add` would then fail with "File exists".
  const id = `${PREFIX}${process.pid}-${counter++}${randomBytes(2).toString('hex')}`;
  const sw = `${id}-sw`;
  const namespaces: string[] = [];
  const procs = new Set<ChildProcess>();
  const addNs = (ns: string) => {
    sh(['ip', 'netns', 'add', ns]);
    namespaces.push(ns);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  };
  const teardownSync = () => {
    for (const p of procs) killTree(p);
    procs.clear();
    for (const ns of namespaces.reverse()) spawnSync('ip', ['netns', 'del', ns]);
    namespaces.length = 0;
  };
  live.add(teardownSync);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => { for (const t of live) t(); });
  }
  try {
    addNs(sw);
    const segments = spec.segments ?? ['lan'];
    segments.forEach((seg, i) => {
      const br = `br${i}`;
      sh(['ip', '-n', sw, 'link', 'add', br, 'type', 'bridge', 'forward_delay', '0']);
      // No STP, no multicast snooping: DHCP broadcasts must reach every port at once.
      sh(['ip', '-n', sw, 'link', 'set', br, 'type', 'bridge', 'stp_state', '0', 'mcast_snooping', '0']);
      sh(['ip', '-n', sw, 'link', 'set', br, 'up']);
      void seg;
    });
    const hosts: Record<string, NetHost> = {};
    let port = 0;
    for (const [name, raw] of Object.entries(spec.hosts)) {
      const atts: Attachment[] = Array.isArray(raw) ? raw : [{ segment: segments[0]!, ...raw }];
      const ns = `${id}-${name}`;
      addNs(ns);
      const ifnames: string[] = [];
      atts.forEach((a, i) => {
        const ifname = a.ifname ?? `eth${i}`;
        const segIndex = segments.indexOf(a.segment);
        if (segIndex < 0) throw new Error(`host ${name}: unknown segment ${a.segment}`);
        const swIf = `p${port++}`;
        sh(['ip', '-n', sw, 'link', 'add', swIf, 'type', 'veth', 'peer', 'name', ifname, 'netns', ns]);
        sh(['ip', '-n', sw, 'link', 'set', swIf, 'master', `br${segIndex}`]);
        sh(['ip', '-n', sw, 'link', 'set', swIf, 'up']);
        if (a.mac) sh(['ip', '-n', ns, 'link', 'set', ifname, 'address', a.mac]);
        if (a.addr) sh(['ip', '-n', ns, 'addr', 'add', a.addr, 'dev', ifname]);
        sh(['ip', '-n', ns, 'link', 'set', ifname, 'up']);
        ifnames.push(ifname);
      });
      hosts[name] = {
        name, ns, ifnames,
        run: (argv, opts = {}) => runIn(ns, argv, opts, procs),
        spawn: (argv, opts = {}) => {
          const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...opts });
          procs.add(p);
          p.on('exit', () => procs.delete(p));
          return p;
        },
      };
    }
    return {
      id, hosts,
      async destroy() {
        const waits = [...procs].map((p) => new Promise<void>((res) => {
          if (p.exitCode !== null || p.signalCode !== null) return res();
          p.once('exit', () => res());
          killTree(p, 'SIGTERM');
          setTimeout(() => { killTree(p, 'SIGKILL'); res(); }, 3000).unref();
        }));
        await Promise.all(waits);
        teardownSync();
        live.delete(teardownSync);
      },
    };
  } catch (err) {
    teardownSync();
    live.delete(teardownSync);
    throw err;
  }
}

function killTree(p: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  // detached: the child leads its own process group, so the whole group goes.
  try { process.kill(-p.pid, signal); } catch { try { p.kill(signal); } catch { /* already gone */ } }
}

function runIn(ns: string, argv: string[], opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv; cwd?: string }, procs: Set<ChildProcess>): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: opts.env ?? process.env, cwd: opts.cwd });
    procs.add(p);
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const t = setTimeout(() => { stderr += `\n[timeout after ${opts.timeoutMs ?? 30000} ms]`; killTree(p); }, opts.timeoutMs ?? 30000);
    p.on('error', (err) => { stderr += String(err); });
    p.on('close', (code) => { clearTimeout(t); procs.delete(p); resolve({ code, stdout, stderr }); });
    // A command that exits before reading its stdin must not crash the test with EPIPE.
    p.stdin!.on('error', () => {});
    p.stdin!.end(opts.input ?? '');
  });
}
