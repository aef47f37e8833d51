// /metrics seen from outside, with real peers: two busybox udhcpc clients lease from the real
// `branchboot serve` in a namespace, curl scrapes /metrics with tokens of every reach, and
// Prometheus's own linter (promtool check metrics) reads what came back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createTestNet, canUseNetns, type NetHost } from '../../helpers/netns.ts';
import { cliArgv, runCli, tempDir } from '../../helpers/cli.ts';
import { hookScript, waitFor } from '../dhcp/harness.ts';

const URL_BASE = 'http://10.77.0.1:8080';
const MACS = ['52:54:00:6d:78:01', '52:54:00:6d:78:02'];
const LAB = '{branch="lab",subnet="10.77.0.0/24",mode="authoritative"}';

const INVENTORY = `machines:
  - mac: 52:54:00:6d:78:99
    branch: lab
    hostname: fixed-01
    ip: 10.77.0.20
branches:
  - name: other
    subnets: []
  - name: lab
    subnets:
      - cidr: 10.77.0.0/24
        dhcp: authoritative
        range: 10.77.0.150-10.77.0.159
        gateway: 10.77.0.1
        leaseTime: 600
`;

/** Sample lines by series (name and labels as written), value parsed. */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

test('udhcpc leases, then /metrics over curl: pool numbers match, scoped to the token\'s branches, 401 without a token, promtool finds no problem', { skip: !canUseNetns() && 'needs root and ip netns', timeout: 150_000 }, async () => {
  const dir = tempDir('bb-metrics-');
  const cfg = path.join(dir, 'config.json');
  fs.writeFileSync(cfg, JSON.stringify({
    dataDir: dir, database: path.join(dir, 'bb.db'), log: { level: 'warn' },
    http: { address: '0.0.0.0', port: 8080, publicUrl: URL_BASE }, dhcp: { enabled: true },
  }));
  const inv = path.join(dir, 'inventory.yaml');
  fs.writeFileSync(inv, INVENTORY);
  const applied = await runCli(['apply', inv, '--config', cfg], { timeoutMs: 60_000 });
  assert.equal(applied.code, 0, `apply: ${applied.stderr}`);
  const token = async (name: string, branch?: string) => {
    const r = await runCli(['token', 'create', name, '--scope', 'read', ...(branch ? ['--branch', branch] : []), '--config', cfg], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split('\n').at(-1)!.trim();
  };
  const [global, lab, other] = [await token('prom'), await token('prom-lab', 'lab'), await token('prom-other', 'other')];

  const net = await createTestNet({ hosts: { server: { addr: '10.77.0.1/24' }, c1: { mac: MACS[0]! }, c2: { mac: MACS[1]! } } });
  try {
    const srv = net.hosts.server!.spawn(cliArgv('serve', '--config', cfg), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    srv.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const curl = async (host: NetHost, url: string, auth?: string) => {
      const r = await host.run(['curl', '-sS', '--max-time', '5', '-w', '\\n%{http_code} %{content_type}', ...(auth ? ['-H', `Authorization: ${auth}`] : []), `${URL_BASE}${url}`], { timeoutMs: 10_000 });
      const lines = r.stdout.trimEnd().split('\n');
      const last = lines.pop()!;
      const sp = last.indexOf(' ');
      return { status: Number(last.slice(0, sp)), type: last.slice(sp + 1), body: lines.length ? `${lines.join('\n')}\n` : '' };
    };
    await waitFor(async () => ((await curl(net.hosts.server!, '/healthz')).status === 200 ? true : undefined), 60_000, `serve up: ${err}`);

    const bound: string[] = [];
    for (const [i, name] of ['c1', 'c2'].entries()) {
      const log = path.join(dir, `${name}.log`);
      const script = hookScript(dir, `${name}.sh`, `echo "$1 ip=$ip" >> ${log}
case "$1" in bound|renew) ip addr replace "$ip/$mask" dev "$interface";; deconfig) ip addr flush dev "$interface";; esac`);
      net.hosts[name]!.spawn(['busybox', 'udhcpc', '-f', '-i', 'eth0', '-s', script, '-t', '20', '-T', '1', '-A', '1']);
      bound.push(await waitFor(() => /^bound ip=(\S+)$/m.exec(fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '')?.[1], 30_000, `udhcpc ${i + 1} bound`));
    }
    assert.equal(new Set(bound).size, 2);

    const scrape = async (auth: string) => {
      const r = await curl(net.hosts.c1!, '/metrics', auth);
      assert.equal(r.status, 200, r.body);
      assert.match(r.type, /^text\/plain; ?version=0\.0\.4/);
      return r.body;
    };
    const text = await scrape(`Bearer ${global}`);
    const s = series(text);
    // Ten addresses in the range (the gateway .1 and the fixed .20 are outside it), two bound.
    assert.deepEqual([
      s.get(`branchboot_dhcp_pool_addresses${LAB}`), s.get(`branchboot_dhcp_leases_bound${LAB}`),
      s.get(`branchboot_dhcp_pool_free_addresses${LAB}`), s.get(`branchboot_dhcp_reservations${LAB}`),
      s.get(`branchboot_dhcp_addresses_declined${LAB}`), s.get(`branchboot_dhcp_subnet_pool_exhausted_total${LAB}`),
    ], [10, 2, 8, 1, 0, 0], text);
    assert.ok(s.get('branchboot_dhcp_packets_received_total')! >= 4, 'two DISCOVERs and two REQUESTs at least');
    assert.ok(s.get('branchboot_dhcp_packets_replied_total')! >= 4);
    assert.ok(s.get('branchboot_dhcp_lease_rows_written_total')! >= 2);
    assert.equal(s.get('branchboot_service_up{service="dhcp"}'), 1);
    assert.equal(s.get('branchboot_service_state{service="dhcp",state="running"}'), 1);
    assert.equal(s.get('branchboot_service_up{service="http"}'), 1);
    assert.ok(s.get('branchboot_process_resident_memory_bytes')! > 10e6);
    assert.match(text, /^branchboot_build_info\{version="\d+\.\d+\.\d+[^"]*",node="v\d+[^"]*"\} 1$/m);

    // Prometheus's linter: format, HELP/TYPE, naming conventions (counters _total, units).
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(lint.error, undefined, 'promtool runs (scripts/apt/metrics.txt: prometheus)');
    assert.equal(lint.status, 0, `promtool check metrics:\n${lint.stdout}${lint.stderr}`);
    assert.equal(`${lint.stdout}${lint.stderr}`.trim(), '', 'no lint findings');

    const labText = await scrape(`Bearer ${lab}`);
    assert.equal(series(labText).get(`branchboot_dhcp_leases_bound${LAB}`), 2, 'the branch\'s own token sees its pool');
    const otherText = await scrape(`Bearer ${other}`);
    assert.doesNotMatch(otherText, /branch="lab"/, 'another branch\'s token sees no series of this branch');
    assert.doesNotMatch(otherText, /^branchboot_dhcp_pool_addresses/m);
    assert.equal(series(otherText).get('branchboot_service_up{service="dhcp"}'), 1, 'appliance-wide series go to every token');

    const anonymous = await curl(net.hosts.c1!, '/metrics');
    assert.equal(anonymous.status, 401);
    assert.doesNotMatch(anonymous.body, /branchboot_/);
    assert.equal((await curl(net.hosts.c1!, '/metrics', 'Bearer bbt_not-a-token')).status, 401);
    assert.equal((await curl(net.hosts.c1!, '/metrics', `Basic ${Buffer.from('a:b').toString('base64')}`)).status, 401);

    srv.kill('SIGTERM');
    await new Promise((res) => (srv.exitCode !== null ? res(undefined) : srv.once('exit', res)));
  } finally { await net.destroy(); }
});
