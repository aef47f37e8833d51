// The network a VM test boots on: a throwaway namespace with a bridge (test/helpers/netns.ts),
// a "server" namespace on it with a fixed address where branchboot runs, and taps on the same
// bridge for the VMs. No route leaves the namespaces.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestNet, type NetHost, type TestNet } from '../netns.ts';

export interface VmNet {
  net: TestNet;
  server: NetHost;
  serverIp: string;
  /** Namespace holding the bridge and the VM taps; QEMU runs inside it. */
  switchNs: string;
  /** Creates a tap on the bridge and returns its name. */
  addTap(): string;
  /** Sends IPv6 router advertisements (lifetime 0, no prefix) from the server: see startRouterAdvert. */
  startRouterAdvert(): Promise<void>;
  destroy(): Promise<void>;
}

function sh(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
}

export async function createVmNet(opts: { serverAddr?: string } = {}): Promise<VmNet> {
  const serverAddr = opts.serverAddr ?? '10.88.0.1/24';
  const net = await createTestNet({ hosts: { server: { addr: serverAddr } } });
  const switchNs = `${net.id}-sw`;
  const server = net.hosts.server!;
  let taps = 0;
  const extra: ChildProcess[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bbt-vmnet-'));
  return {
    net, server, switchNs,
    serverIp: serverAddr.split('/')[0]!,
    addTap() {
      const tap = `tap${taps++}`;
      sh(['ip', '-n', switchNs, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
      sh(['ip', '-n', switchNs, 'link', 'set', tap, 'master', 'br0']);
      sh(['ip', '-n', switchNs, 'link', 'set', tap, 'up']);
      return tap;
    },
    async startRouterAdvert() {
      extra.push(await startRadvd(server, tmp));
    },
    async destroy() {
      for (const p of extra) if (p.pid !== undefined && p.exitCode === null) { try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ } }
      await net.destroy();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/**
 * iPXE (QEMU's 1.0.0+git-20190125 ROM) waits about 15 s for an IPv6 router advertisement
 * before it does anything with IPv4. One RA with router lifetime 0 and no prefix ends the
 * wait without giving anyone an IPv6 route (notes/pxe-clients.md). radvd answers the
 * router solicitation iPXE sends at once, and repeats every few seconds.
 */
async function startRadvd(server: NetHost, tmp: string): Promise<ChildProcess> {
  const ifname = server.ifnames[0]!;
  const conf = path.join(tmp, 'radvd.conf');
  fs.writeFileSync(conf, `interface ${ifname} {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 4;\n  AdvDefaultLifetime 0;\n};\n`);
  // radvd refuses to advertise unless the namespace forwards IPv6; the sysctl is per namespace.
  // (spawnSync, not server.run: run() can die with EPIPE when a command exits before its stdin is written.)
  sh(['ip', 'netns', 'exec', server.ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
  // radvd needs the link-local address (DAD takes a moment after the link comes up).
  for (let i = 0; i < 50; i++) {
    const a = spawnSync('ip', ['-n', server.ns, '-6', 'addr', 'show', 'dev', ifname, 'scope', 'link'], { encoding: 'utf8' });
    if (/inet6 fe80/.test(a.stdout) && !/tentative/.test(a.stdout)) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const p = spawn('ip', ['netns', 'exec', server.ns, 'timeout', '3600', 'radvd', '-n', '-C', conf, '-p', path.join(tmp, 'radvd.pid'), '-m', 'stderr'],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  await new Promise((res) => setTimeout(res, 300));
  if (p.exitCode !== null) throw new Error(`radvd exited ${p.exitCode}: ${err}`);
  process.once('exit', () => { if (p.pid !== undefined && p.exitCode === null) { try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ } } });
  return p;
}
