// kill -9 in the middle of a load run, then restart: every client that got an ACK renews to
// the same address, and no address was ever given to two MACs (an ACK leaves only after its
// lease row is committed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createTestNet, canUseNetns } from '../../helpers/netns.ts';
import { startServer, waitFor, type RunningServer } from './harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');

test('kill -9 under load, restart: ACKed leases renew to the same address, none duplicated', { skip: !canUseNetns() && 'needs root and ip netns', timeout: 120_000 }, async () => {
  const net = await createTestNet({ hosts: { server: { addr: '10.77.0.1/16' }, gen: { addr: '10.77.0.2/16' } } });
  let srv: RunningServer | undefined;
  try {
    srv = await startServer(net.hosts.server!, [{ cidr: '10.77.0.0/16', mode: 'authoritative', ranges: ['10.77.1.0-10.77.40.255'] }]);
    const out = path.join(srv.t.dir, 'load.json');
    const gen = (args: string[]) => net.hosts.gen!.run([process.execPath, '--import', 'tsx', path.join(ROOT, 'bench/dhcp/loadgen.ts'), '--server', '10.77.0.1', '--local', '10.77.0.2', '--inflight', '64', ...args], { timeoutMs: 90_000, cwd: ROOT });
    // 60 tries of 500 ms: the clients in flight must outlast the restart. With 15 (8 s) a restart
    // slowed by load (a tsx start took 6-7 s at load 10) could lose whole rounds of 64 in-flight
    // clients, more than the 100 the ACK count below allows.
    const load = gen(['--clients', '3000', '--retries', '60', '--timeout', '500', '--out', out]);
    await waitFor(() => (fs.existsSync(`${out}.acks`) && fs.readFileSync(`${out}.acks`, 'utf8').split('\n').length > 300 ? true : undefined), 30_000, 'some ACKs');
    await srv.kill9();
    await srv.restart();
    const r = await load;
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(fs.readFileSync(out, 'utf8')) as { completed: number; lost: number };
    const acks = fs.readFileSync(`${out}.acks`, 'utf8').trim().split('\n').map((l) => l.split(' ') as [string, string]);
    assert.ok(acks.length >= 2900, `ACKed ${acks.length} of 3000 (${JSON.stringify(summary)})`);
    const byIp = new Map<string, Set<string>>();
    const byMac = new Map<string, Set<string>>();
    for (const [m, i] of acks) {
      byIp.set(i, (byIp.get(i) ?? new Set()).add(m));
      byMac.set(m, (byMac.get(m) ?? new Set()).add(i));
    }
    assert.equal([...byIp.values()].filter((s) => s.size > 1).length, 0, 'an address was ACKed to two MACs');
    assert.equal([...byMac.values()].filter((s) => s.size > 1).length, 0, 'a MAC was ACKed two addresses');
    // Every promise made before and after the crash: a RENEW must get the same address.
    const list = path.join(srv.t.dir, 'acked.json');
    fs.writeFileSync(list, JSON.stringify(acks));
    const renewOut = path.join(srv.t.dir, 'renew.json');
    const rr = await gen(['--mode', 'renew', '--in', list, '--out', renewOut]);
    assert.equal(rr.code, 0, rr.stderr);
    const renewed = JSON.parse(fs.readFileSync(renewOut, 'utf8')) as { completed: number; naks: number; acks: Array<[string, string]> };
    assert.equal(renewed.naks, 0);
    assert.equal(renewed.completed, acks.length);
    const want = new Map(acks);
    for (const [m, i] of renewed.acks) assert.equal(i, want.get(m), `${m} renewed to another address`);
  } finally { await net.destroy(); await srv?.stop(); }
});
