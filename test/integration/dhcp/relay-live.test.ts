// A relayed subnet (real dhcrelay) and a direct one served at once while 'branchboot apply'
// changes them: the relayed subnet switched off, then moved so the relay's giaddr matches no
// subnet; the direct client is unaffected throughout, and across a SIGTERM restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createTestNet, canUseNetns } from '../../helpers/netns.ts';
import { hookScript, startServer, waitFor, type RunningServer } from './harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
const inventory = (north: { cidr: string; mode: string; range: string }) => `branches:
  - name: hq
    subnets:
      - { cidr: 10.77.0.0/24, dhcp: authoritative, range: 10.77.0.100-10.77.0.109, gateway: 10.77.0.1, leaseTime: 600 }
  - name: north
    subnets:
      - { cidr: ${north.cidr}, dhcp: ${north.mode}, range: ${north.range}, gateway: ${north.cidr.replace(/0\/24$/, '1')}, leaseTime: 600 }
`;

test('relayed and direct subnets at once; relayed one off, then unmatched giaddr; SIGTERM restart', { skip: !canUseNetns() && 'needs root and ip netns', timeout: 150_000 }, async () => {
  const net = await createTestNet({
    segments: ['core', 'branch'],
    hosts: {
      server: [{ segment: 'core', addr: '10.77.0.1/24' }],
      relay: [{ segment: 'core', addr: '10.77.0.2/24' }, { segment: 'branch', addr: '10.88.0.1/24' }],
      direct: [{ segment: 'core', mac: '52:54:00:79:00:01' }],
      relayed: [{ segment: 'branch', mac: '52:54:00:79:00:02' }],
    },
  });
  let srv: RunningServer | undefined;
  try {
    await net.hosts.server!.run(['ip', 'route', 'add', '10.88.0.0/24', 'via', '10.77.0.2']);
    srv = await startServer(net.hosts.server!, []);
    const s = srv;
    const cfg = path.join(s.t.dir, 'config.json');
    const inv = path.join(s.t.dir, 'inventory.yaml');
    const apply = async (north: { cidr: string; mode: string; range: string }) => {
      fs.writeFileSync(inv, inventory(north));
      const r = await net.hosts.server!.run([process.execPath, '--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'apply', inv, '--config', cfg], { cwd: ROOT, timeoutMs: 30_000 });
      assert.equal(r.code, 0, `apply: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 1500));
    };
    await apply({ cidr: '10.88.0.0/24', mode: 'authoritative', range: '10.88.0.50-10.88.0.59' });
    net.hosts.relay!.spawn(['dhcrelay', '-d', '-4', '-a', '-iu', 'eth0', '-id', 'eth1', '10.77.0.1']);
    const client = (name: 'direct' | 'relayed', extra: string[] = []) => {
      const log = path.join(s.t.dir, `${name}.log`);
      const script = hookScript(s.t.dir, `${name}.sh`, `echo "$1 ip=$ip serverid=$serverid" >> ${log}
case "$1" in bound|renew) ip addr replace "$ip/$mask" dev "$interface"; [ -n "$router" ] && ip route replace default via "$router";; deconfig) ip addr flush dev "$interface";; esac`);
      const p = net.hosts[name]!.spawn(['busybox', 'udhcpc', '-f', '-i', 'eth0', '-s', script, '-t', '20', '-T', '1', '-A', '1', ...extra]);
      const lines = () => read(log).trim().split('\n');
      return { p, lines, next: (re: RegExp, from: number, ms = 15_000) => waitFor(() => lines().slice(from).find((l) => re.test(l)), ms, `${name} ${re}`) };
    };
    await new Promise((res) => setTimeout(res, 500));
    const d = client('direct');
    const r = client('relayed');
    const dIp = /ip=(\S+)/.exec(await d.next(/^bound /, 0))![1]!;
    const rIp = /ip=(\S+)/.exec(await r.next(/^bound /, 0, 25_000))![1]!;
    assert.match(dIp, /^10\.77\.0\.10\d$/);
    assert.match(rIp, /^10\.88\.0\.5\d$/);
    const renewOk = async (c: typeof d, ip: string) => {
      const mark = c.lines().length;
      c.p.kill('SIGUSR1');
      assert.match(await c.next(/^(renew|bound|nak) /, mark), new RegExp(`^(renew|bound) ip=${ip.replace(/\./g, '\\.')} `));
    };
    await renewOk(r, rIp);

    // The relayed subnet off: its client's renew is not answered; the direct one's is.
    await apply({ cidr: '10.88.0.0/24', mode: 'off', range: '10.88.0.50-10.88.0.59' });
    const mark = r.lines().length;
    r.p.kill('SIGUSR1');
    await renewOk(d, dIp);
    await new Promise((res) => setTimeout(res, 2000));
    assert.deepEqual(r.lines().slice(mark).filter((l) => /^(renew|bound|nak)/.test(l)), [], 'a subnet in mode off answered');

    // Moved: the relay's giaddr (10.88.0.1) is in no subnet now. A new client behind it gets nothing.
    await apply({ cidr: '10.99.0.0/24', mode: 'authoritative', range: '10.99.0.50-10.99.0.59' });
    r.p.kill('SIGKILL');
    const log3 = path.join(s.t.dir, 'relayed2.log');
    const script3 = hookScript(s.t.dir, 'relayed2.sh', `echo "$1 ip=$ip" >> ${log3}`);
    const once = await net.hosts.relayed!.run(['busybox', 'udhcpc', '-f', '-q', '-n', '-i', 'eth0', '-s', script3, '-t', '3', '-T', '1'], { timeoutMs: 20_000 });
    assert.notEqual(once.code, 0);
    assert.doesNotMatch(read(log3), /^bound/m);
    await renewOk(d, dIp);

    // SIGTERM and start again: the direct client renews the same address; nothing was ACKed twice.
    const old = s.proc;
    old.kill('SIGTERM');
    await new Promise((res) => { if (old.exitCode !== null) res(undefined); else old.once('exit', res); });
    assert.equal(old.exitCode, 0, s.stderr());
    await s.restart();
    await renewOk(d, dIp);
    const bound = await s.t.handle.db.selectFrom('leases').select(['ip', 'mac']).where('state', '=', 'bound').where('expires_at', '>', Date.now()).execute();
    assert.equal(new Set(bound.map((b) => b.ip)).size, bound.length, JSON.stringify(bound));
    d.p.kill('SIGKILL');
  } finally { await net.destroy(); await srv?.stop(); }
});
