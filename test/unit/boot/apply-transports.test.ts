// Where an admin picks an image and a transport (inventory apply), a pair no version can boot
// is refused in one line naming who, which image, which transport and why — rather than the
// machine showing it later. The same rule the planner applies (cmdline.ts transportProblem).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInventory } from '../../../src/model/inventory/parse.ts';
import { applyInventory } from '../../../src/model/inventory/apply.ts';
import { UserError } from '../../../src/util/errors.ts';
import { tempDb } from './fixtures.ts';

const base = (o: { branchTransport?: string; machineTransport?: string; imageTransport?: string; flavor?: string; menu?: boolean }) => JSON.stringify({
  branches: [{
    name: 'lab', subnets: [{ cidr: '10.1.0.0/24' }], defaultImage: 'fed',
    ...(o.branchTransport && { transport: o.branchTransport }), ...(o.menu && { menu: { images: ['fed'] } }),
  }],
  images: [{ name: 'fed', flavor: o.flavor ?? 'dracut', ...(o.imageTransport && { transport: o.imageTransport }) }, { name: 'deb', flavor: 'live-boot' }],
  machines: [{ mac: '52:54:00:00:0a:01', branch: 'lab', ...(o.machineTransport && { transport: o.machineTransport }) }],
});

test('inventory apply refuses flavor × transport pairs no image version can boot', async () => {
  const cases: [Parameters<typeof base>[0], RegExp][] = [
    [{ imageTransport: 'cifs' }, /^image fed: image "fed" \(dracut\) over cifs: dracut cannot boot a squashfs image from cifs/],
    [{ branchTransport: 'http-lazy' }, /^branch lab: image "fed" \(dracut\) over http-lazy: dracut has no lazy http root/],
    [{ machineTransport: 'cifs' }, /^machine 52:54:00:00:0a:01: image "fed" \(dracut\) over cifs/],
    [{ flavor: 'nbd-root', branchTransport: 'nfs' }, /flavor nbd-root boots only over nbd, not nfs/],
    [{ flavor: 'casper', imageTransport: 'http-lazy' }, /casper has no lazy http root/],
  ];
  for (const [o, want] of cases) {
    const t = tempDb();
    try {
      await assert.rejects(applyInventory(t.db, parseInventory(base(o))), (err: unknown) => err instanceof UserError && want.test(err.message) && !err.message.includes('\n'), JSON.stringify(o));
      assert.equal((await t.db.selectFrom('images').selectAll().execute()).length, 0, 'nothing half-written');
    } finally {
      await t.close();
    }
  }
});

test('pairs that can boot apply as before', async () => {
  for (const o of [{}, { branchTransport: 'nfs' }, { machineTransport: 'nbd' }, { flavor: 'live-boot', branchTransport: 'http-lazy' }, { flavor: 'nbd-root', imageTransport: 'nbd' }]) {
    const t = tempDb();
    try {
      const r = await applyInventory(t.db, parseInventory(base(o)));
      assert.ok(r.applied, JSON.stringify(o));
    } finally {
      await t.close();
    }
  }
});
