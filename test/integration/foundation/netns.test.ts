import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { canUseNetns, createTestNet } from '../../helpers/netns.ts';

test('test networks: hosts on one bridge reach each other, and everything is gone after destroy', async (t) => {
  if (!canUseNetns()) return t.skip('needs root and ip netns');
  const net = await createTestNet({ hosts: { a: { addr: '10.77.0.1/24' }, b: { addr: '10.77.0.2/24' } } });
  let destroyed = false;
  try {
    const ping = await net.hosts.b!.run(['ping', '-c', '1', '-W', '2', '10.77.0.1']);
    assert.equal(ping.code, 0, ping.stderr);
    const sleeper = net.hosts.a!.spawn(['sleep', '300']);
    await net.destroy();
    destroyed = true;
    assert.ok(sleeper.exitCode !== null || sleeper.signalCode !== null, 'processes killed by PID');
    const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.ok(!list.includes(net.id), 'namespaces deleted');
  } finally {
    if (!destroyed) await net.destroy();
  }
});
