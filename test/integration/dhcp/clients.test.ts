// Real Debian DHCP clients (busybox udhcpc, ISC dhclient, dhcpcd) against the real server in
// a throwaway namespace: obtain, renew, release.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createTestNet, canUseNetns, type TestNet } from '../../helpers/netns.ts';
import { hookScript, startServer, waitFor, type RunningServer } from './harness.ts';

const LAN = { cidr: '10.77.0.0/24', mode: 'authoritative' as const, ranges: ['10.77.0.100-10.77.0.199'], gateway: '10.77.0.1', dns: ['10.77.0.1'], leaseSeconds: 600 };

async function rig(mac: string): Promise<{ net: TestNet; srv: RunningServer; log: string; dir: string; done(): Promise<void> }> {
  const net = await createTestNet({ hosts: { server: { addr: '10.77.0.1/24' }, client: { mac } } });
  let srv: RunningServer | undefined;
  try {
    srv = await startServer(net.hosts.server!, [LAN]);
  } catch (err) { await net.destroy(); throw err; }
  const dir = srv.t.dir;
  const s = srv;
  return { net, srv, dir, log: path.join(dir, 'client.log'), async done() { await net.destroy(); await s.stop(); } };
}

const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
const lease = (srv: RunningServer, mac: string) => srv.t.handle.db.selectFrom('leases').selectAll().where('mac', '=', mac).orderBy('updated_at', 'desc').executeTakeFirst();

describe('real DHCP clients', { skip: !canUseNetns() && 'needs root and ip netns' }, () => {
  test('busybox udhcpc as a PXE client (-V PXEClient, option 93): obtain, renew, release', { timeout: 60_000 }, async () => {
    const mac = '52:54:00:77:00:01';
    const r = await rig(mac);
    try {
      const script = hookScript(r.dir, 'udhcpc.sh', `echo "$1 ip=$ip boot_file=$boot_file siaddr=$siaddr serverid=$serverid" >> ${r.log}
case "$1" in bound|renew) ip addr replace "$ip/$mask" dev "$interface";; deconfig) ip addr flush dev "$interface";; esac`);
      const p = r.net.hosts.client!.spawn(['busybox', 'udhcpc', '-f', '-i', 'eth0', '-s', script, '-V', 'PXEClient', '-x', '0x5d:0000', '-t', '10', '-T', '1', '-A', '1']);
      const bound = await waitFor(() => /^bound .*$/m.exec(read(r.log))?.[0], 20_000, 'udhcpc bound');
      assert.match(bound, /ip=10\.77\.0\.1\d\d /);
      assert.match(bound, /boot_file=undionly\.kpxe/);
      assert.match(bound, /siaddr=10\.77\.0\.1 /);
      const ipAddr = /ip=(\S+)/.exec(bound)![1]!;
      assert.equal((await lease(r.srv, mac))?.state, 'bound');
      p.kill('SIGUSR1');
      const renew = await waitFor(() => /^renew .*$/m.exec(read(r.log))?.[0], 15_000, 'udhcpc renew');
      assert.match(renew, new RegExp(`ip=${ipAddr.replace(/\./g, '\\.')} `));
      p.kill('SIGUSR2');
      await waitFor(async () => ((await lease(r.srv, mac))?.state === 'released' ? true : undefined), 10_000, 'lease released');
      p.kill('SIGKILL');
      const events = await r.srv.t.handle.db.selectFrom('boot_events').select('stage').where('mac', '=', mac).execute().catch(() => []);
      void events; // the server process writes them in batches; presence is checked in unit tests
    } finally { await r.done(); }
  });

  test('ISC dhclient: obtain, reboot with the same address (INIT-REBOOT), release', { timeout: 60_000 }, async () => {
    const mac = '52:54:00:77:00:02';
    const r = await rig(mac);
    try {
      const script = hookScript(r.dir, 'dhclient.sh', `echo "$reason ip=$new_ip_address file=$new_filename" >> ${r.log}
case "$reason" in BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface";; esac`);
      const lf = path.join(r.dir, 'dhclient.leases');
      const args = ['dhclient', '-4', '-d', '-v', '-sf', script, '-lf', lf, '-pf', path.join(r.dir, 'dhclient.pid'), 'eth0'];
      const p1 = r.net.hosts.client!.spawn(args);
      const bound = await waitFor(() => /^BOUND .*$/m.exec(read(r.log))?.[0], 20_000, 'dhclient BOUND');
      const ipAddr = /ip=(\S+)/.exec(bound)![1]!;
      assert.match(ipAddr, /^10\.77\.0\.1\d\d$/);
      p1.kill('SIGKILL');
      await new Promise((res) => p1.once('exit', res));
      const p2 = r.net.hosts.client!.spawn(args);
      const reboot = await waitFor(() => /^REBOOT .*$/m.exec(read(r.log))?.[0], 20_000, 'dhclient REBOOT');
      assert.equal(/ip=(\S+)/.exec(reboot)![1], ipAddr);
      const rel = await r.net.hosts.client!.run(['dhclient', '-4', '-r', '-v', '-sf', script, '-lf', lf, '-pf', path.join(r.dir, 'dhclient.pid'), 'eth0'], { timeoutMs: 15_000 });
      assert.equal(rel.code, 0, rel.stderr);
      await waitFor(async () => ((await lease(r.srv, mac))?.state === 'released' ? true : undefined), 10_000, 'lease released');
      p2.kill('SIGKILL');
    } finally { await r.done(); }
  });

  test('dhcpcd: obtain, renew, release', { timeout: 60_000 }, async () => {
    const mac = '52:54:00:77:00:03';
    const r = await rig(mac);
    try {
      const script = hookScript(r.dir, 'dhcpcd.sh', `echo "$reason ip=$new_ip_address" >> ${r.log}`);
      const conf = path.join(r.dir, 'dhcpcd.conf');
      // noarp: skip the duplicate-address probe (seconds); nohook lookup-hostname etc.: keep the host untouched.
      fs.writeFileSync(conf, 'noarp\nnoipv4ll\noption subnet_mask, routers\n');
      const p = r.net.hosts.client!.spawn(['dhcpcd', '-4', '-B', '-d', '-f', conf, '-c', script, '--noipv4ll', '-t', '20', 'eth0']);
      let errText = ''; p.stderr?.on('data', (d: Buffer) => { errText += d.toString(); });
      const bound = await waitFor(() => /^BOUND .*$/m.exec(read(r.log))?.[0], 25_000, 'dhcpcd BOUND').catch((e: Error) => { throw new Error(`${e.message}\n${errText}`); });
      const ipAddr = /ip=(\S+)/.exec(bound)![1]!;
      assert.match(ipAddr, /^10\.77\.0\.1\d\d$/);
      p.kill('SIGUSR1');
      const renew = await waitFor(() => /^RENEW .*$/m.exec(read(r.log))?.[0], 15_000, 'dhcpcd RENEW').catch((e: Error) => { throw new Error(`${e.message}\n${errText}`); });
      assert.equal(/ip=(\S+)/.exec(renew)![1], ipAddr);
      p.kill('SIGALRM');
      await waitFor(async () => ((await lease(r.srv, mac))?.state === 'released' ? true : undefined), 10_000, 'lease released').catch((e: Error) => { throw new Error(`${e.message}\n${errText}`); });
    } finally { await r.done(); }
  });
});
