// `branchboot serve` run the way contrib/systemd/branchboot.service runs it: the built command
// (bin/branchboot.js, the unit's ExecStart), as an unprivileged user (nobody stands in for
// User=branchboot) with only the unit's capabilities and no-new-privileges (setpriv, flags
// read from the unit file), in its dataDir owned by that user, as StateDirectory= makes it.
// DHCP on 67, TFTP on 69, NBD and HTTP all on; real clients in a throwaway network: busybox
// udhcpc gets a lease and its boot file name, tftp-hpa fetches that file, curl gets /healthz.
// serve runs under strace, and what it called is checked against the unit's system call filter
// and address families. Without the capability, serve refuses in one line; so it does when a
// command run as root made its database. Needs `npm run build` (scripts/test.sh does).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import YAML from 'yaml';
import { createTestNet, canUseNetns, type NetHost } from '../../helpers/netns.ts';
import { ROOT, tempDir } from '../../helpers/cli.ts';
import { until } from '../../helpers/until.ts';
import { allowedSyscalls, capMask, capabilities, readSection, setprivArgs, traced } from './unit-file.ts';

const UID = 65534; // nobody
const GID = 65534; // nogroup
const BIN = path.join(ROOT, 'bin', 'branchboot.js');
const IPXE = '/usr/lib/ipxe/undionly.kpxe';
const service = readSection('branchboot.service', 'Service');

/** A folder tree as the unit's install has it: config owned by root, dataDir 0750 owned by the service user. */
function layout(extra: Record<string, unknown>): { base: string; dataDir: string; cfg: string } {
  const base = tempDir('bb-service-');
  fs.chmodSync(base, 0o755); // mkdtemp makes it 0700: the service user must reach its dataDir
  const dataDir = path.join(base, 'var');
  fs.mkdirSync(dataDir, { mode: 0o750 });
  fs.chownSync(dataDir, UID, GID);
  const cfg = path.join(base, 'branchboot.yaml');
  fs.writeFileSync(cfg, YAML.stringify({ dataDir, log: { level: 'info' }, ...extra }), { mode: 0o644 });
  return { base, dataDir, cfg };
}

function asService(argv: string[], caps?: string[]): string[] {
  return [...setprivArgs(service, UID, GID, caps), process.execPath, BIN, ...argv];
}

const stderrLines = (s: string) => s.split('\n').filter((l) => l && !l.startsWith('{'));

describe('serve as the systemd unit runs it', { skip: !canUseNetns() && 'needs root and ip netns' }, () => {
  test('the unit asks for CAP_NET_BIND_SERVICE alone', () => {
    assert.deepEqual(capabilities(service, 'AmbientCapabilities'), ['net_bind_service']);
    assert.deepEqual(capabilities(service, 'CapabilityBoundingSet'), ['net_bind_service']);
    assert.deepEqual(service.get('User'), ['branchboot']);
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'cli.js')), 'dist/ is missing: npm run build');
  });

  test('as nobody with only the unit\'s capability: udhcpc lease + boot file, TFTP of it, /healthz 200, NBD up; dataDir stays the user\'s', { timeout: 120_000 }, async (t) => {
    const mac = '52:54:00:5e:00:01';
    const net = await createTestNet({ hosts: { server: { addr: '10.77.30.1/24' }, client: { mac } } });
    const srv = net.hosts.server!;
    const cli = net.hosts.client!;
    let serve: ChildProcess | undefined;
    try {
      // A new namespace starts at the kernel's default; the test means nothing if it were 0.
      assert.equal((await srv.run(['cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start'])).stdout.trim(), '1024');
      const { base, dataDir, cfg } = layout({
        http: { address: '10.77.30.1', port: 8080, publicUrl: 'http://10.77.30.1:8080', shutdownGraceSeconds: 2 },
        dhcp: { enabled: true }, tftp: { enabled: true, roots: [path.dirname(IPXE)] }, nbd: { enabled: true, address: '10.77.30.1' },
      });
      const reach = await srv.run([...setprivArgs(service, UID, GID), 'test', '-r', BIN]);
      assert.equal(reach.code, 0, `uid ${UID} cannot read ${BIN}: the checkout's folders must be world-readable for this test`);
      const inv = path.join(base, 'inventory.yaml');
      fs.writeFileSync(inv, YAML.stringify({ branches: [{ name: 'lab', subnets: [{ cidr: '10.77.30.0/24', dhcp: 'authoritative', range: '10.77.30.100-10.77.30.199', gateway: '10.77.30.1', leaseTime: 600 }] }] }), { mode: 0o644 });
      // Admin commands run as the service user too (README: through the wrapper, as branchboot), with no capability.
      const applied = await srv.run(asService(['apply', inv, '--config', cfg], []), { cwd: dataDir, timeoutMs: 60_000 });
      assert.equal(applied.code, 0, applied.stderr);

      // Under strace: the calls and socket families serve makes are checked against the unit's
      // SystemCallFilter= and RestrictAddressFamilies= at the end (systemd cannot apply them here).
      const trace = path.join(base, 'strace.log');
      serve = srv.spawn(['strace', '-f', '-qq', '-o', trace, ...asService(['serve', '--config', cfg])], { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let out = '';
      serve.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
      serve.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
      const proc = serve;
      await until(() => out.includes('"branchboot running"') || (proc.exitCode !== null && assert.fail(`serve exited ${proc.exitCode}: ${out}`)), 'serve running', { timeoutMs: 60_000, everyMs: 100 });

      // What the kernel says the process holds: the unit's capability, nothing else, as nobody.
      const nodePid = fs.readFileSync(`/proc/${serve.pid}/task/${serve.pid}/children`, 'utf8').trim();
      const status = fs.readFileSync(`/proc/${nodePid}/status`, 'utf8');
      const field = (k: string) => /^(\S+):\s+(.*)$/m.exec(status.split('\n').find((l) => l.startsWith(`${k}:`)) ?? '')?.[2] ?? '';
      const want = capMask(capabilities(service, 'AmbientCapabilities'));
      for (const k of ['CapEff', 'CapPrm', 'CapAmb', 'CapBnd']) assert.equal(BigInt(`0x${field(k)}`), want, `${k} ${field(k)}`);
      assert.match(field('Uid'), /^65534\s+65534\s+65534\s+65534$/);
      assert.match(field('Groups'), /^$/);
      assert.equal(field('NoNewPrivs'), '1');

      const health = await srv.run(['curl', '-s', '-m', '5', '-w', '\n%{http_code}', 'http://10.77.30.1:8080/healthz']);
      const [body, code] = health.stdout.split('\n');
      assert.equal(code, '200', health.stdout);
      const services = (JSON.parse(body!) as { services: Record<string, { state: string; listen?: string[] }> }).services;
      assert.deepEqual(services.dhcp?.listen, ['0.0.0.0:67', '0.0.0.0:4011']);
      assert.deepEqual(services.tftp?.listen, ['0.0.0.0:69']);
      assert.deepEqual(services.nbd?.listen, ['10.77.30.1:10809']);

      const log = path.join(base, 'udhcpc.log');
      const script = path.join(base, 'udhcpc.sh');
      fs.writeFileSync(script, `#!/bin/sh\necho "$1 ip=$ip boot_file=$boot_file siaddr=$siaddr" >> ${log}\ncase "$1" in bound|renew) ip addr replace "$ip/$mask" dev "$interface";; esac\n`, { mode: 0o755 });
      cli.spawn(['busybox', 'udhcpc', '-f', '-i', 'eth0', '-s', script, '-V', 'PXEClient', '-x', '0x5d:0000', '-t', '10', '-T', '1', '-A', '1']);
      const bound = await until(() => (fs.existsSync(log) ? /^bound .*$/m.exec(fs.readFileSync(log, 'utf8'))?.[0] : undefined), 'udhcpc bound', { timeoutMs: 30_000, everyMs: 100 });
      assert.match(bound, /ip=10\.77\.30\.1\d\d boot_file=undionly\.kpxe siaddr=10\.77\.30\.1$/);

      // The boot file the lease named, over TFTP from the leased address (tftp-hpa).
      const got = path.join(base, 'undionly.kpxe');
      const tftp = await cli.run(['tftp', '10.77.30.1', '-m', 'binary', '-c', 'get', 'undionly.kpxe', got], { timeoutMs: 30_000 });
      assert.equal(tftp.code, 0, tftp.stderr + tftp.stdout);
      assert.ok(fs.readFileSync(got).equals(fs.readFileSync(IPXE)), 'the TFTP copy differs from the file');

      // SIGTERM to serve itself, as systemd sends it; strace exits with serve's exit code.
      const t0 = Date.now();
      const exited = new Promise<number | null>((res) => proc.once('exit', res));
      process.kill(Number(nodePid), 'SIGTERM');
      assert.equal(await exited, 0, out);
      const stopMs = Date.now() - t0;
      assert.ok(stopMs < 2000 + 3000, `stopped ${stopMs} ms after SIGTERM`);
      t.diagnostic(`serve as uid ${UID}: stopped ${stopMs} ms after SIGTERM`);

      // Everything serve made is the service user's, and the dataDir kept its mode.
      const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(e.parentPath, e.name);
        return e.isDirectory() ? [p, ...walk(p)] : [p];
      });
      const made = walk(dataDir);
      assert.ok(made.some((p) => p.endsWith('branchboot.db')) && made.some((p) => p.endsWith('store')), made.join(' '));
      for (const p of [dataDir, ...made]) assert.equal(fs.lstatSync(p).uid, UID, `${p} is not owned by uid ${UID}`);
      assert.equal(fs.statSync(dataDir).mode & 0o777, 0o750);

      const { calls, families } = traced(trace, process.execPath);
      const allowed = allowedSyscalls(service);
      assert.deepEqual([...calls].filter((c) => !allowed.has(c)), [], 'calls outside the unit\'s SystemCallFilter=');
      const unitFamilies = (service.get('RestrictAddressFamilies') ?? []).flatMap((v) => v.split(/\s+/));
      assert.deepEqual([...families].filter((f) => !unitFamilies.includes(f)), [], 'socket families outside RestrictAddressFamilies=');
      t.diagnostic(`serve made ${calls.size} distinct system calls (of ${allowed.size} allowed), socket families ${[...families].sort().join(' ')}`);
    } finally {
      if (serve && serve.exitCode === null && serve.signalCode === null) serve.kill('SIGKILL');
      await net.destroy();
    }
  });

  const refusing = (srv: NetHost) => async (cfg: string, dataDir: string, caps?: string[]) => {
    // Without the checks a serve that should refuse runs on: the timeout ends it (code null).
    const r = await srv.run(asService(['serve', '--config', cfg], caps), { cwd: dataDir, timeoutMs: 20_000 });
    assert.equal(r.code, 1, r.stderr);
    return stderrLines(r.stderr);
  };

  test('without the capability: one line naming the port and the capability, exit 1 (dhcp, tftp)', { timeout: 60_000 }, async () => {
    const net = await createTestNet({ hosts: { server: { addr: '10.77.31.1/24' } } });
    const serveAsService = refusing(net.hosts.server!);
    try {
      const noCap: [Record<string, unknown>, string][] = [
        [{ dhcp: { enabled: true } }, 'branchboot: dhcp: not allowed to listen on 0.0.0.0:67 (ports below 1024 need root or CAP_NET_BIND_SERVICE)'],
        [{ tftp: { enabled: true } }, 'branchboot: tftp: not allowed to listen on 0.0.0.0:69 (ports below 1024 need root or CAP_NET_BIND_SERVICE)'],
      ];
      for (const [extra, line] of noCap) {
        const { dataDir, cfg } = layout({ http: { port: 8080 }, ...extra });
        assert.deepEqual(await serveAsService(cfg, dataDir, []), [line]);
      }
    } finally {
      await net.destroy();
    }
  });

  // An admin who ran a command as root before the first start (README: run them as the service
  // user). SQLite opened these files read-only without a word, and serve ran, /healthz 503,
  // unable to write a lease, a session or an import.
  test('a database or a lock file a root command made: one line naming it and the fix, exit 1', { timeout: 60_000 }, async () => {
    const net = await createTestNet({ hosts: { server: { addr: '10.77.32.1/24' } } });
    const srv = net.hosts.server!;
    const serveAsService = refusing(srv);
    const fix = 'run branchboot as the user that owns the dataDir (with contrib/systemd: as branchboot), or chown it to the user serve runs as';
    const modeOf = (f: string) => (fs.statSync(f).mode & 0o777).toString(8).padStart(4, '0');
    try {
      {
        const { dataDir, cfg } = layout({ http: { port: 8080 } });
        const made = await srv.run([process.execPath, BIN, 'token', 'create', 'root-made', '--config', cfg]);
        assert.equal(made.code, 0, made.stderr);
        const db = path.join(dataDir, 'branchboot.db');
        assert.equal(fs.statSync(db).uid, 0);
        assert.deepEqual(await serveAsService(cfg, dataDir), [`branchboot: database ${db}: uid ${UID} cannot write it (owner uid 0, mode ${modeOf(db)}): ${fix}`]);
      }
      {
        const { dataDir, cfg } = layout({ http: { port: 8080 } });
        const made = await srv.run([process.execPath, BIN, 'migrate', '--config', cfg]);
        assert.equal(made.code, 0, made.stderr);
        const lock = path.join(dataDir, 'serve.lock');
        assert.deepEqual(await serveAsService(cfg, dataDir), [`branchboot: dataDir ${dataDir}: serve.lock: uid ${UID} cannot write it (owner uid 0, mode ${modeOf(lock)}): ${fix}`]);
      }
    } finally {
      await net.destroy();
    }
  });
});
