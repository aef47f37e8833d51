// The inventory changed by `branchboot apply` (another process, the real CLI) while a real
// client (busybox udhcpc) holds a lease from the real server in a namespace: a pool shrunk,
// lease time/gateway/DNS changed, the mode switched off and back, the branch pruned and
// re-added, the server killed -9 and restarted. What the client gets at each renew.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createTestNet, canUseNetns } from '../../helpers/netns.ts';
import { hookScript, startServer, waitFor, type RunningServer } from './harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const MAC = '52:54:00:77:1a:01';

interface Lan { range: string; mode?: string; gateway?: string; dns?: string; lease?: number; fixed?: string | null }
const inventory = (lans: Lan[] | null) => `${lans && lans[0]!.fixed !== undefined ? `machines:
  - mac: ${MAC}
    branch: lab
${lans[0]!.fixed ? `    ip: ${lans[0]!.fixed}\n` : ''}` : ''}branches:
  - name: keep
    subnets: []
${lans ? `  - name: lab
    subnets:
${lans.map((l) => `      - cidr: 10.77.0.0/24
        dhcp: ${l.mode ?? 'authoritative'}
        range: ${l.range}
        gateway: ${l.gateway ?? '10.77.0.1'}
        dns: [${l.dns ?? '10.77.0.1'}]
        leaseTime: ${l.lease ?? 600}
`).join('')}` : ''}`;

/** `branchboot apply` of an inventory with these LANs, run on the server's host, then the subnet TTL waited out. */
function applier(host: { run: (argv: string[], opts: { cwd: string; timeoutMs: number }) => Promise<{ code: number | null; stderr: string }> }, s: RunningServer) {
  const cfg = path.join(s.t.dir, 'config.json');
  const inv = path.join(s.t.dir, 'inventory.yaml');
  return async (lans: Lan[] | null, prune = false): Promise<void> => {
    fs.writeFileSync(inv, inventory(lans));
    const r = await host.run([process.execPath, '--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'apply', inv, '--config', cfg, ...(prune ? ['--prune'] : [])], { cwd: ROOT, timeoutMs: 30_000 });
    assert.equal(r.code, 0, `apply: ${r.stderr}`);
    // The server re-reads subnets on a 1 s TTL here (5 s in serve): wait it out.
    await new Promise((res) => setTimeout(res, 1500));
  };
}

const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');

test('inventory applied under a udhcpc lease: shrink, options, mode off/on, prune/re-add, kill -9', { skip: !canUseNetns() && 'needs root and ip netns', timeout: 150_000 }, async () => {
  const net = await createTestNet({ hosts: { server: { addr: '10.77.0.1/24' }, client: { mac: MAC } } });
  let srv: RunningServer | undefined;
  try {
    srv = await startServer(net.hosts.server!, []);
    const s = srv;
    const apply = applier(net.hosts.server!, s);
    await apply([{ range: '10.77.0.100-10.77.0.199' }]);
    const log = path.join(s.t.dir, 'client.log');
    const script = hookScript(s.t.dir, 'udhcpc.sh', `echo "$1 ip=$ip router=$router dns=$dns lease=$lease" >> ${log}
case "$1" in bound|renew) ip addr replace "$ip/$mask" dev "$interface";; deconfig) ip addr flush dev "$interface";; esac`);
    const p = net.hosts.client!.spawn(['busybox', 'udhcpc', '-f', '-i', 'eth0', '-s', script, '-t', '20', '-T', '1', '-A', '1']);
    const lines = () => read(log).trim().split('\n');
    const next = async (what: RegExp, from: number, ms = 15_000) => waitFor(() => lines().slice(from).find((l) => what.test(l)), ms, `${what}`);
    const bound = await next(/^bound /, 0);
    const first = /ip=(\S+)/.exec(bound)![1]!;
    assert.match(first, /^10\.77\.0\.1\d\d$/);

    // 1. Shrink the pool away from the client's address: renew → NAK → a new address inside the new range.
    await apply([{ range: '10.77.0.150-10.77.0.159' }]);
    let mark = lines().length;
    p.kill('SIGUSR1');
    await next(/^nak /, mark);
    const rebound = await next(/^bound /, mark);
    let second = /ip=(\S+)/.exec(rebound)![1]!;
    assert.match(second, /^10\.77\.0\.15\d$/, rebound);

    // 3. Lease time, gateway, DNS: the next renew carries the new values.
    await apply([{ range: '10.77.0.150-10.77.0.159', gateway: '10.77.0.254', dns: '10.77.0.53', lease: 900 }]);
    mark = lines().length;
    p.kill('SIGUSR1');
    const renewed = await next(/^renew /, mark);
    assert.match(renewed, new RegExp(`ip=${second.replace(/\./g, '\\.')} router=10\\.77\\.0\\.254 dns=10\\.77\\.0\\.53 lease=900`));

    // 2. A fixed address for the client (it holds a pool address): renew → NAK → the fixed one.
    //    Then the reservation removed: the fixed address is outside the pool, so NAK → a pool address.
    await apply([{ range: '10.77.0.150-10.77.0.159', fixed: '10.77.0.20' }]);
    mark = lines().length;
    p.kill('SIGUSR1');
    await next(/^nak /, mark);
    assert.match(await next(/^bound /, mark), /ip=10\.77\.0\.20 /);
    await apply([{ range: '10.77.0.150-10.77.0.159', fixed: null }]);
    mark = lines().length;
    p.kill('SIGUSR1');
    await next(/^nak /, mark);
    assert.match(await next(/^bound /, mark), /ip=10\.77\.0\.15\d /);

    // Mode off: the renew goes unanswered (the client keeps its lease); back on: renewed as before.
    second = /ip=(\S+)/.exec(lines().filter((l) => /^bound /.test(l)).at(-1)!)![1]!;
    await apply([{ range: '10.77.0.150-10.77.0.159', mode: 'off' }]);
    mark = lines().length;
    p.kill('SIGUSR1');
    await new Promise((res) => setTimeout(res, 3000));
    assert.deepEqual(lines().slice(mark).filter((l) => /^(renew|nak|bound)/.test(l)), [], 'a subnet in mode off answered');
    await apply([{ range: '10.77.0.150-10.77.0.159' }]);
    mark = lines().length;
    p.kill('SIGUSR1');
    assert.match(await next(/^(renew|bound) /, mark), new RegExp(`ip=${second.replace(/\./g, '\\.')} `));

    // 4. Prune the branch, re-add it: the client keeps its address; a second client is not given it.
    await apply(null, true);
    await apply([{ range: '10.77.0.150-10.77.0.159' }]);
    mark = lines().length;
    p.kill('SIGUSR1');
    assert.match(await next(/^(renew|bound) /, mark), new RegExp(`ip=${second.replace(/\./g, '\\.')} `));
    const rows = await s.t.handle.db.selectFrom('leases').select(['ip', 'state']).where('mac', '=', MAC).where('state', '=', 'bound').execute();
    assert.deepEqual(rows.map((r) => r.ip), [second], 'the re-added subnet lost the client\'s lease');

    // 6. kill -9 and restart: the renew gets the same address.
    await s.kill9();
    await s.restart();
    mark = lines().length;
    p.kill('SIGUSR1');
    assert.match(await next(/^(renew|bound) /, mark), new RegExp(`ip=${second.replace(/\./g, '\\.')} `));
    p.kill('SIGKILL');
  } finally { await net.destroy(); await srv?.stop(); }
});

test('dhclient INIT-REBOOT after the pool moved away from its address: NAK, then an address in the new range; its old address is free for another client', { skip: !canUseNetns() && 'needs root and ip netns', timeout: 120_000 }, async () => {
  const net = await createTestNet({ hosts: { server: { addr: '10.77.0.1/24' }, client: { mac: MAC }, client2: { mac: '52:54:00:77:1a:02' } } });
  let srv: RunningServer | undefined;
  try {
    srv = await startServer(net.hosts.server!, []);
    const s = srv;
    const apply = applier(net.hosts.server!, s);
    await apply([{ range: '10.77.0.100-10.77.0.109' }]);
    const log = path.join(s.t.dir, 'client.log');
    const script = hookScript(s.t.dir, 'dhclient.sh', `echo "$reason ip=$new_ip_address" >> ${log}
case "$reason" in BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface";; esac`);
    const lf = path.join(s.t.dir, 'dhclient.leases');
    const args = ['dhclient', '-4', '-d', '-v', '-sf', script, '-lf', lf, '-pf', path.join(s.t.dir, 'dhclient.pid'), 'eth0'];
    const p1 = net.hosts.client!.spawn(args);
    const first = /ip=(\S+)/.exec(await waitFor(() => /^BOUND .*$/m.exec(read(log))?.[0], 20_000, 'dhclient BOUND'))![1]!;
    assert.match(first, /^10\.77\.0\.10\d$/);
    // dhclient writes its lease file after the hook ran: without it, the restart is a DISCOVER, not an INIT-REBOOT.
    await waitFor(() => (read(lf).includes(`fixed-address ${first};`) ? true : undefined), 10_000, 'dhclient lease file');
    p1.kill('SIGKILL');
    await new Promise((res) => p1.once('exit', res));
    await apply([{ range: '10.77.0.200-10.77.0.209' }]);
    fs.writeFileSync(log, '');
    const p2 = net.hosts.client!.spawn(args);
    let err = ''; p2.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    const again = await waitFor(() => /^BOUND .*$/m.exec(read(log))?.[0], 30_000, 'dhclient BOUND after the move').catch((e: Error) => { throw new Error(`${e.message}\n${err}`); });
    assert.match(err, /DHCPNAK/, 'INIT-REBOOT of the old address was not NAKed');
    assert.match(again, /ip=10\.77\.0\.20\d$/);
    assert.doesNotMatch(read(log), /^REBOOT /m);
    p2.kill('SIGKILL');
    // The old address is free again (the NAK ended that lease): a second client asking for it after the pool moves back gets it.
    await apply([{ range: first + '-' + first }]);
    const log2 = path.join(s.t.dir, 'client2.log');
    const script2 = hookScript(s.t.dir, 'udhcpc2.sh', `echo "$1 ip=$ip" >> ${log2}`);
    const r = await net.hosts.client2!.run(['busybox', 'udhcpc', '-f', '-q', '-n', '-i', 'eth0', '-s', script2, '-t', '5', '-T', '1', '-A', '1'], { timeoutMs: 20_000 });
    assert.match(read(log2), new RegExp(`^bound ip=${first.replace(/\./g, '\\.')}$`, 'm'), r.stderr);
  } finally { await net.destroy(); await srv?.stop(); }
});

test('a udhcpc lease outlives its subnet: prune, serve restarted, re-added (running, then while stopped): it renews its address; another client never gets it', { skip: !canUseNetns() && 'needs root and ip netns', timeout: 150_000 }, async () => {
  const OTHER = '52:54:00:77:1a:02';
  const net = await createTestNet({ hosts: { server: { addr: '10.77.0.1/24' }, client: { mac: MAC }, other: { mac: OTHER } } });
  let srv: RunningServer | undefined;
  try {
    srv = await startServer(net.hosts.server!, []);
    const s = srv;
    const apply = applier(net.hosts.server!, s);
    // One address in the pool: whoever else asks while the client holds it must get nothing.
    const lab = [{ range: '10.77.0.150-10.77.0.150' }];
    await apply(lab);
    const log = path.join(s.t.dir, 'client.log');
    const script = hookScript(s.t.dir, 'udhcpc.sh', `echo "$1 ip=$ip" >> ${log}
case "$1" in bound|renew) ip addr replace "$ip/$mask" dev "$interface";; deconfig) ip addr flush dev "$interface";; esac`);
    const p = net.hosts.client!.spawn(['busybox', 'udhcpc', '-f', '-i', 'eth0', '-s', script, '-t', '20', '-T', '1', '-A', '1']);
    const lines = () => read(log).trim().split('\n');
    const next = async (what: RegExp, from: number, ms = 15_000) => waitFor(() => lines().slice(from).find((l) => what.test(l)), ms, `${what}`);
    assert.match(await next(/^bound /, 0), /ip=10\.77\.0\.150$/);
    const otherLog = path.join(s.t.dir, 'other.log');
    const otherScript = hookScript(s.t.dir, 'other.sh', `echo "$1 ip=$ip" >> ${otherLog}`);
    /** The other client tries for a lease (-n: gives up after 3 DISCOVERs). */
    const otherTries = async () => {
      const r = await net.hosts.other!.run(['busybox', 'udhcpc', '-f', '-n', '-q', '-i', 'eth0', '-s', otherScript, '-t', '3', '-T', '1', '-A', '1'], { timeoutMs: 20_000 });
      assert.notEqual(r.code, 0, `another client got a lease: ${read(otherLog)}`);
      assert.doesNotMatch(read(otherLog), /^bound/m);
    };
    const renewKeeps = async () => {
      const mark = lines().length;
      p.kill('SIGUSR1');
      assert.match(await next(/^(renew|bound|nak) /, mark), /^(renew|bound) ip=10\.77\.0\.150$/);
    };
    const leaseRows = async () => s.t.handle.db.selectFrom('leases as l').leftJoin('subnets as n', 'n.id', 'l.subnet_id')
      .select(['l.ip', 'l.state', 'n.cidr']).where('l.mac', '=', MAC).execute();

    // 1. Pruned, serve restarted without the subnet, then re-added while it runs.
    await apply(null, true);
    assert.deepEqual(await leaseRows(), [{ ip: '10.77.0.150', state: 'bound', cidr: null }], 'the lease went with its subnet');
    s.proc.kill('SIGTERM');
    await new Promise((res) => s.proc.once('exit', res));
    await s.restart();
    await apply(lab);
    await otherTries();
    await renewKeeps();
    assert.deepEqual(await leaseRows(), [{ ip: '10.77.0.150', state: 'bound', cidr: '10.77.0.0/24' }]);

    // 2. Pruned and re-added while serve is stopped: it adopts the lease as it loads.
    await apply(null, true);
    s.proc.kill('SIGTERM');
    await new Promise((res) => s.proc.once('exit', res));
    await apply(lab);
    await s.restart();
    await otherTries();
    await renewKeeps();
    assert.deepEqual(await leaseRows(), [{ ip: '10.77.0.150', state: 'bound', cidr: '10.77.0.0/24' }]);
    p.kill('SIGKILL');
  } finally { await net.destroy(); await srv?.stop(); }
});
