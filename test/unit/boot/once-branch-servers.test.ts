// "once" on a branch whose own servers deliver the image: a mirror (server_http) serves kernel,
// initrd and root, an NBD server or a share the root. This server then sees the script and
// nothing after it, so serving the script is what uses the flag up — else the machine would
// boot its image again on every start, never its disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPlanner } from '../../../src/boot/planner.ts';
import { lastStepSeen } from '../../../src/boot/last-step.ts';
import type { BootEventInput, EventBus } from '../../../src/events.ts';
import type { Transport } from '../../../src/db/schema.ts';
import { addBranch, addImage, addMachine, silentLog, tempDb, testConfig } from './fixtures.ts';

test('a once boot from a branch mirror is used up when the script is served; from this server, not before the root', async () => {
  const t = tempDb();
  try {
    const events: BootEventInput[] = [];
    const bus = { record: (e: BootEventInput) => { events.push(e); } } as unknown as EventBus;
    const planner = createPlanner({ config: testConfig({ 'boot.exportDir': '/srv/bb' }), db: t.db, log: silentLog, events: bus });
    await addImage(t.db, { name: 'deb', flavor: 'live-boot' }, [{ version: 1 }]);
    const mirror = await addBranch(t.db, { name: 'remote', default_image: 'deb', server_http: 'http://10.2.0.10:8080/', server_nbd: '10.2.0.11', server_nfs: '10.2.0.12:/srv/bb' });
    const central = await addBranch(t.db, { name: 'central', default_image: 'deb' });
    const pending = async (mac: string) => (await t.db.selectFrom('machines').select('once_pending').where('mac', '=', mac).executeTakeFirstOrThrow()).once_pending;
    let n = 0;
    for (const transport of ['http', 'http-lazy', 'nbd', 'nfs'] as Transport[]) {
      const mac = `aa:bb:cc:11:00:${(++n).toString(16).padStart(2, '0')}`;
      await addMachine(t.db, { mac, branch_id: mirror, action: 'once', once_pending: 1, transport });
      // A preview changes nothing.
      assert.equal((await planner.plan({ mac, serverAddress: '10.1.0.1', preview: true })).kind, 'image');
      assert.equal(await pending(mac), 1, `${transport}: preview`);
      const p = await planner.plan({ mac, serverAddress: '10.1.0.1', clientIp: '10.2.0.50' });
      assert.equal(p.kind, 'image', transport);
      if (p.kind === 'image') assert.ok(p.kernelUrl.startsWith('http://10.2.0.10:8080/images/'), p.kernelUrl);
      assert.equal(await pending(mac), 0, `${transport}: the script was the last step this server sees`);
      assert.deepEqual(events.at(-1), { mac, ip: '10.2.0.50', branchId: mirror, stage: 'boot.once-done', detail: { image: 'deb', version: 1, transport, seen: 'script' } });
      assert.equal((await planner.plan({ mac, serverAddress: '10.1.0.1' })).kind, 'local', `${transport}: the next boot is the disk`);
    }
    // Bytes from this server: the root fetch (fetch-events.ts) uses it up, not the script.
    await addMachine(t.db, { mac: 'aa:bb:cc:11:01:01', branch_id: central, action: 'once', once_pending: 1 });
    assert.equal((await planner.plan({ mac: 'aa:bb:cc:11:01:01', serverAddress: '10.1.0.1' })).kind, 'image');
    assert.equal(await pending('aa:bb:cc:11:01:01'), 1);
  } finally {
    await t.close();
  }
});

test('the last step this server sees, per transport and branch servers', () => {
  const self = { selfBase: 'http://10.1.0.1:8080', selfNbd: { host: '10.1.0.1', port: 10809 } };
  const ours = { ...self, httpBase: self.selfBase, nbd: self.selfNbd };
  const branchHttp = { ...ours, httpBase: 'http://10.2.0.10' };
  const branchNbd = { ...ours, nbd: { host: '10.2.0.11', port: 10809 } };
  assert.equal(lastStepSeen(ours, 'http'), 'root');
  assert.equal(lastStepSeen(ours, 'nbd'), 'root');
  assert.equal(lastStepSeen(ours, 'nfs'), 'initrd');
  assert.equal(lastStepSeen(branchHttp, 'http-lazy'), 'script');
  assert.equal(lastStepSeen(branchHttp, 'nbd'), 'root', 'a mirror for kernels, the root from our NBD server');
  assert.equal(lastStepSeen(branchNbd, 'nbd'), 'initrd');
  assert.equal(lastStepSeen({ ...branchHttp, nbd: branchNbd.nbd }, 'nbd'), 'script');
  assert.equal(lastStepSeen(branchHttp, 'cifs'), 'script');
});
