// An orphan lease seen from outside, with real peers: busybox udhcpc gets a lease from the real
// `branchboot serve` (DHCP and HTTP in one process) in a namespace, `branchboot apply --prune`
// (another process) removes its branch's subnet, and curl from the client's namespace reads
// /api/v1/leases with three tokens: unrestricted, limited to the machine's branch, limited to
// another branch. The client still holds its address; only the first two may see it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createTestNet, canUseNetns, type NetHost } from '../../helpers/netns.ts';
import { cliArgv, runCli, tempDir } from '../../helpers/cli.ts';
import { hookScript, waitFor } from '../dhcp/harness.ts';

const MAC = '52:54:00:77:1b:01';
const URL_BASE = 'http://10.77.0.1:8080';

const inventory = (withSubnet: boolean) => `machines:
  - mac: ${MAC}
    branch: lab
    hostname: desk-01
branches:
  - name: other
    subnets: []
  - name: lab
    subnets:${withSubnet ? `
      - cidr: 10.77.0.0/24
        dhcp: authoritative
        range: 10.77.0.150-10.77.0.159
        gateway: 10.77.0.1
        leaseTime: 600` : ' []'}
`;

interface Item { ip: string; mac: string; orphan: boolean; subnet: string | null; branchId: number | null; machineBranchId?: number | null; state: string; expiresAt: number }

test('udhcpc holds a lease, apply --prune removes its subnet: /api/v1/leases over curl lists it as an orphan, to whom may see its machine', { skip: !canUseNetns() && 'needs root and ip netns', timeout: 150_000 }, async () => {
  const dir = tempDir('bb-orphan-netns-');
  const cfg = path.join(dir, 'config.json');
  fs.writeFileSync(cfg, JSON.stringify({
    dataDir: dir, database: path.join(dir, 'bb.db'), log: { level: 'warn' },
    http: { address: '0.0.0.0', port: 8080, publicUrl: URL_BASE }, dhcp: { enabled: true },
  }));
  const inv = path.join(dir, 'inventory.yaml');
  const apply = async (withSubnet: boolean, prune: boolean) => {
    fs.writeFileSync(inv, inventory(withSubnet));
    const r = await runCli(['apply', inv, '--config', cfg, ...(prune ? ['--prune'] : [])], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `apply: ${r.stderr}`);
  };
  const token = async (name: string, branch?: string) => {
    const r = await runCli(['token', 'create', name, '--scope', 'read', ...(branch ? ['--branch', branch] : []), '--config', cfg], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split('\n').at(-1)!.trim();
  };
  await apply(true, false);
  const [global, lab, other] = [await token('global'), await token('lab', 'lab'), await token('other', 'other')];

  const net = await createTestNet({ hosts: { server: { addr: '10.77.0.1/24' }, client: { mac: MAC } } });
  try {
    const srv = net.hosts.server!.spawn(cliArgv('serve', '--config', cfg), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    srv.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const curl = async (host: NetHost, url: string, tok: string) => {
      const r = await host.run(['curl', '-sS', '--max-time', '5', '-w', '\\n%{http_code}', '-H', `Authorization: Bearer ${tok}`, `${URL_BASE}${url}`], { timeoutMs: 10_000 });
      const lines = r.stdout.trimEnd().split('\n');
      return { status: Number(lines.pop()), body: lines.join('\n') };
    };
    // The client has no address before udhcpc binds: the first check runs beside serve.
    await waitFor(async () => ((await curl(net.hosts.server!, '/healthz', '')).status === 200 ? true : undefined), 60_000, `serve up: ${err}`);

    const log = path.join(dir, 'client.log');
    const script = hookScript(dir, 'udhcpc.sh', `echo "$1 ip=$ip" >> ${log}
case "$1" in bound|renew) ip addr replace "$ip/$mask" dev "$interface";; deconfig) ip addr flush dev "$interface";; esac`);
    const client = net.hosts.client!.spawn(['busybox', 'udhcpc', '-f', '-i', 'eth0', '-s', script, '-t', '20', '-T', '1', '-A', '1']);
    const bound = await waitFor(() => /^bound ip=(\S+)$/m.exec(fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '')?.[1], 30_000, 'udhcpc bound');

    const items = async (url: string, tok: string) => {
      const r = await curl(net.hosts.client!, url, tok);
      assert.equal(r.status, 200, r.body);
      return (JSON.parse(r.body) as { items: Item[] }).items;
    };
    const before = await items('/api/v1/leases', global);
    assert.deepEqual(before.map((i) => [i.ip, i.orphan, i.subnet]), [[bound, false, '10.77.0.0/24']]);

    await apply(false, true);
    // serve re-reads subnets every 5 s; the listing reads the database and needs no wait.
    const after = await items('/api/v1/leases', global);
    assert.equal(after.length, 1);
    const o = after[0]!;
    const labId = before[0]!.branchId;
    assert.deepEqual({ ip: o.ip, mac: o.mac, orphan: o.orphan, subnet: o.subnet, branchId: o.branchId, machineBranchId: o.machineBranchId, state: o.state },
      { ip: bound, mac: MAC, orphan: true, subnet: null, branchId: null, machineBranchId: labId, state: 'bound' });
    assert.ok(o.expiresAt > Date.now() + 500_000, 'held until its lease ends (600 s)');
    assert.deepEqual((await items('/api/v1/leases?orphan=true', lab)).map((i) => i.ip), [bound], 'the machine\'s branch sees it');
    assert.deepEqual((await items(`/api/v1/machines/${MAC}/leases`, lab)).map((i) => [i.ip, i.orphan]), [[bound, true]]);
    assert.deepEqual(await items('/api/v1/leases', other), [], 'another branch does not');
    assert.equal((await curl(net.hosts.client!, `/api/v1/leases?branch=${labId}`, other)).status, 403);

    // The client still uses the address: nothing on the wire took it away.
    const ping = await net.hosts.server!.run(['ping', '-c', '1', '-W', '2', bound], { timeoutMs: 10_000 });
    assert.equal(ping.code, 0, 'the client still answers on its leased address');
    client.kill('SIGKILL');
    srv.kill('SIGTERM');
    await new Promise((res) => (srv.exitCode !== null ? res(undefined) : srv.once('exit', res)));
  } finally { await net.destroy(); }
});
