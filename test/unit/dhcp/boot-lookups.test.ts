// DHCP answers the planner's misses of a boot storm from what it follows of the inventory
// (src/dhcp/boot-lookups.ts). It must give the database's answer for every client, ask the
// database nothing for a new machine, and never trust what it holds across an inventory change
// of this process before it has read again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { dbTargetLookups, resolveTarget, type Resolution, type Target, type TargetLookups } from '../../../src/boot/resolve.ts';
import { REGISTRATION_COLUMNS, type Registration } from '../../../src/model/boot-queries.ts';
import { DhcpBootLookups } from '../../../src/dhcp/boot-lookups.ts';
import { SightingRecorder } from '../../../src/dhcp/sightings.ts';
import { inlineWriter } from '../../../src/dhcp/db-writer.ts';
import { makeCtx, type TestCtx } from './helpers.ts';
import { fuzzScale, fuzzSeed, rng } from '../../helpers/rng.ts';

const log = pino({ level: 'silent' });
const UUID_A = '8c3d1f4e-0b6a-4c2d-9e1f-2a3b4c5d6e7f';
const UUID_B = '1f2e3d4c-5b6a-4789-8a9b-0c1d2e3f4a5b';

/** A resolution as DHCP sees it: of the machine, what resolveTarget reads (all DHCP keeps of one). */
function seen<M extends Registration>(r: Resolution<Target<M>>): unknown {
  if (!r.ok || !r.value.machine) return r;
  const m = r.value.machine;
  return { ...r, value: { ...r.value, machine: Object.fromEntries(REGISTRATION_COLUMNS.map((c) => [c, m[c]])) } };
}

/** The database's lookups, counting what is asked of them. */
function counting(t: TestCtx): { look: TargetLookups; asked: string[] } {
  const asked: string[] = [];
  const db = dbTargetLookups(t.ctx.db);
  const look: TargetLookups = {
    machineByMac: (mac) => { asked.push(`mac ${mac}`); return db.machineByMac(mac); },
    machineByUuid: (uuid) => { asked.push(`uuid ${uuid}`); return db.machineByUuid(uuid); },
    branch: (id) => { asked.push(`branch ${id}`); return db.branch(id); },
    hasSubnets: (id) => { asked.push(`subnets ${id}`); return db.hasSubnets(id); },
    branchIdForIp: (ip) => { asked.push(`ip ${ip}`); return db.branchIdForIp(ip); },
  };
  return { look, asked };
}

async function machine(t: TestCtx, mac: string, row: { branch?: string; uuid?: string; state?: 'registered' | 'discovered' } = {}): Promise<void> {
  const now = Date.now();
  await t.handle.db.insertInto('machines').values({
    mac, uuid: row.uuid ?? null, state: row.state ?? 'registered', branch_id: row.branch ? t.branchIds.get(row.branch)! : null, created_at: now, updated_at: now,
  }).execute();
}

async function rig() {
  const t = await makeCtx([
    { cidr: '10.70.0.0/24', mode: 'authoritative', branch: 'north' },
    { cidr: '10.71.0.0/24', mode: 'authoritative', branch: 'south' },
  ]);
  const { look, asked } = counting(t);
  const sightings = new SightingRecorder(t.ctx.db, inlineWriter(t.ctx.db), log);
  const lookups = new DhcpBootLookups(t.ctx.db, sightings, log, look);
  return { t, asked, sightings, lookups, north: t.branchIds.get('north')!, south: t.branchIds.get('south')! };
}

test('a new machine of a boot storm costs no database lookup, and every client gets the database\'s answer', async () => {
  const { t, asked, lookups, north, south } = await rig();
  try {
    await machine(t, '52:54:00:70:00:01', { branch: 'north' });
    await machine(t, '52:54:00:70:00:02', { branch: 'north', uuid: UUID_A });
    await machine(t, '52:54:00:70:00:03', { branch: 'south', state: 'discovered', uuid: UUID_B });
    await machine(t, '52:54:00:70:00:04', { branch: 'south' });
    await lookups.refresh();
    const db = dbTargetLookups(t.ctx.db);
    const clients: Array<[string, number, string | undefined]> = [
      ['52:54:00:70:99:01', north, undefined], // new, no UUID
      ['52:54:00:70:99:02', north, 'aaaaaaaa-0000-4000-8000-000000000001'], // new, unknown UUID
      ['52:54:00:70:00:01', north, undefined], // registered here
      ['52:54:00:70:99:03', south, UUID_A], // another NIC of a registered PC (claimed by UUID), booting elsewhere
      ['52:54:00:70:00:03', north, UUID_B], // discovered in south, its UUID registered by nobody
      ['52:54:00:70:00:04', north, undefined], // registered in south, booting in north
    ];
    for (const [mac, branchId, uuid] of clients) {
      assert.deepEqual(seen(await resolveTarget(lookups, mac, branchId, undefined, uuid)), seen(await resolveTarget(db, mac, branchId, undefined, uuid)), mac);
    }
    asked.length = 0;
    const storm = await resolveTarget(lookups, '52:54:00:70:99:09', north, undefined, 'aaaaaaaa-0000-4000-8000-000000000009');
    assert.ok(storm.ok && storm.value.branch?.id === north && storm.value.machine === undefined);
    assert.deepEqual(asked, [], 'nothing asked of the database for a new machine');
    await resolveTarget(lookups, '52:54:00:70:00:01', north);
    assert.deepEqual(asked, [], 'a registered machine (a lab\'s storm) from its row as last read');
    await resolveTarget(lookups, '52:54:00:70:00:03', south);
    assert.deepEqual(asked, ['mac 52:54:00:70:00:03'], 'a discovered machine is read as it is now');
  } finally {
    await t.close();
  }
});

test('a change of this process is seen at once; one of another process after the next refresh', async () => {
  const { t, asked, lookups, north } = await rig();
  try {
    await lookups.refresh();
    // This process registers a machine and says so (the API, the console): the database answers
    // until the next refresh has read it.
    await machine(t, '52:54:00:70:01:01', { branch: 'north', uuid: UUID_A });
    lookups.invalidate();
    assert.equal((await lookups.machineByMac('52:54:00:70:01:01'))?.mac, '52:54:00:70:01:01');
    assert.equal((await lookups.machineByUuid(UUID_A))?.mac, '52:54:00:70:01:01');
    await t.handle.db.updateTable('branches').set({ server_tftp: '10.70.0.9' }).where('id', '=', north).execute();
    assert.equal((await lookups.branch(north))?.server_tftp, '10.70.0.9');
    await lookups.refresh();
    asked.length = 0;
    assert.equal((await lookups.machineByUuid(UUID_A))?.mac, '52:54:00:70:01:01');
    assert.equal((await lookups.branch(north))?.server_tftp, '10.70.0.9');
    assert.deepEqual(asked, [`uuid ${UUID_A}`], 'the branch from what was read, the registered UUID from the database');
    // Another process (an apply) registers a machine and moves the branch's TFTP server: no
    // event; the next refresh (the subnets' TTL) reads both.
    await machine(t, '52:54:00:70:01:02', { branch: 'north', uuid: UUID_B });
    await t.handle.db.updateTable('branches').set({ server_tftp: null, updated_at: Date.now() }).where('id', '=', north).execute();
    assert.equal(await lookups.machineByMac('52:54:00:70:01:02'), undefined, 'not read yet');
    assert.equal((await lookups.branch(north))?.server_tftp, '10.70.0.9', 'not read yet');
    await lookups.refresh();
    assert.equal((await lookups.machineByMac('52:54:00:70:01:02'))?.mac, '52:54:00:70:01:02');
    assert.equal((await lookups.machineByUuid(UUID_B))?.mac, '52:54:00:70:01:02');
    assert.equal((await lookups.branch(north))?.server_tftp, null);
  } finally {
    await t.close();
  }
});

test('a refresh an inventory change overtook, or one that failed, is not trusted', async () => {
  const { t, asked, lookups, sightings, north } = await rig();
  try {
    await lookups.refresh();
    // The change lands while a refresh is reading: what it read may be from before.
    const reading = lookups.refresh();
    await machine(t, '52:54:00:70:02:01', { branch: 'north' });
    lookups.invalidate();
    await reading;
    asked.length = 0;
    assert.equal((await lookups.machineByMac('52:54:00:70:02:01'))?.mac, '52:54:00:70:02:01');
    assert.deepEqual(asked, ['mac 52:54:00:70:02:01']);
    // The recorder emptied its MACs at its cap: it no longer knows which MACs are new.
    await lookups.refresh();
    (sightings as unknown as { complete: boolean }).complete = false;
    asked.length = 0;
    await lookups.machineByMac('52:54:00:70:99:99');
    assert.deepEqual(asked, ['mac 52:54:00:70:99:99']);
    // The table cannot be read: the database answers (and fails) for every lookup.
    await lookups.refresh();
    await t.handle.db.schema.alterTable('branches').renameTo('branches_gone').execute();
    await lookups.refresh();
    asked.length = 0;
    await lookups.branch(north).catch(() => undefined);
    await lookups.machineByUuid(UUID_A);
    assert.deepEqual(asked, [`branch ${north}`, `uuid ${UUID_A}`]);
    await t.handle.db.schema.alterTable('branches_gone').renameTo('branches').execute();
  } finally {
    await t.close();
  }
});

test('a change another process commits with an updated_at older than one already read is seen at the next refresh', async () => {
  const { t, lookups } = await rig();
  try {
    const now = Date.now();
    await machine(t, '52:54:00:70:03:01', { branch: 'north' });
    await machine(t, '52:54:00:70:03:02', { branch: 'north' });
    await lookups.refresh();
    // The storm's newest sighting, then an apply's transaction that began before it commits.
    await t.handle.db.insertInto('machines').values({ mac: '52:54:00:70:03:ff', state: 'discovered', created_at: now + 10_000, updated_at: now + 10_000 }).execute();
    await lookups.refresh();
    await t.handle.db.updateTable('machines').set({ mac: '52:54:00:70:03:03', updated_at: now - 1000 }).where('mac', '=', '52:54:00:70:03:01').execute();
    await t.handle.db.updateTable('machines').set({ uuid: UUID_A, updated_at: now - 1000 }).where('mac', '=', '52:54:00:70:03:02').execute();
    await lookups.refresh();
    assert.equal((await lookups.machineByMac('52:54:00:70:03:03'))?.mac, '52:54:00:70:03:03', 'the new MAC');
    assert.equal(await lookups.machineByMac('52:54:00:70:03:01'), undefined, 'the old MAC');
    assert.equal((await lookups.machineByUuid(UUID_A))?.mac, '52:54:00:70:03:02', 'the registered UUID');
  } finally {
    await t.close();
  }
});

test('the storm\'s discovered machines do not move the machine revision; a registration, a new MAC, branch, UUID or action, and a delete do', async () => {
  const { t } = await rig();
  try {
    const rev = async () => (await t.handle.db.selectFrom('machine_revision').select('rev').executeTakeFirstOrThrow()).rev;
    const r0 = await rev();
    await machine(t, '52:54:00:70:04:01', { state: 'discovered', branch: 'north' });
    await t.handle.db.updateTable('machines').set({ last_seen_at: Date.now(), once_pending: 0, updated_at: Date.now() }).execute();
    assert.equal(await rev(), r0, 'a discovered machine, and columns DHCP does not read');
    await machine(t, '52:54:00:70:04:02', { branch: 'north' });
    assert.equal(await rev(), r0 + 1, 'a registered machine');
    const moves: Array<Record<string, unknown>> = [{ state: 'registered' }, { branch_id: null }, { uuid: UUID_B }, { action: 'local' }, { mac: '52:54:00:70:04:03' }];
    for (const [i, set] of moves.entries()) {
      await t.handle.db.updateTable('machines').set(set).where('id', '=', (await t.handle.db.selectFrom('machines').select('id').orderBy('id').executeTakeFirstOrThrow()).id).execute();
      assert.equal(await rev(), r0 + 2 + i, JSON.stringify(set));
    }
    await t.handle.db.deleteFrom('machines').where('mac', '=', '52:54:00:70:04:02').execute();
    assert.equal(await rev(), r0 + 2 + moves.length, 'a delete');
  } finally {
    await t.close();
  }
});

test('random inventory changes: after each refresh, and at once after a change of this process, the database\'s answer', async () => {
  const { t, lookups } = await rig();
  const random = rng(fuzzSeed(0xb0071));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const macs = Array.from({ length: 10 }, (_, i) => `52:54:00:70:05:${i.toString(16).padStart(2, '0')}`);
  const uuids = [UUID_A, UUID_B, 'aaaaaaaa-0000-4000-8000-0000000000a1', undefined];
  const branches = ['north', 'south', undefined] as const;
  const db = dbTargetLookups(t.ctx.db);
  try {
    await lookups.refresh();
    let stale = false;
    const steps = 400 * fuzzScale();
    for (let step = 0; step < steps; step++) {
      const here = random() < 0.5;
      const op = Math.floor(random() * 6);
      const mac = pick(macs);
      const when = Date.now() - Math.floor(random() * 20_000); // other writers' clocks and long transactions
      if (op === 0) {
        const b = pick(branches);
        await t.handle.db.insertInto('machines').values({
          mac, state: random() < 0.7 ? 'registered' : 'discovered', uuid: pick(uuids) ?? null,
          branch_id: b ? t.branchIds.get(b)! : null, created_at: when, updated_at: when,
        }).onConflict((oc) => oc.column('mac').doUpdateSet({ state: 'registered', uuid: pick(uuids) ?? null, updated_at: when })).execute();
      } else if (op === 1) {
        await t.handle.db.deleteFrom('machines').where('mac', '=', mac).execute();
      } else if (op === 2) {
        const b = pick(branches);
        await t.handle.db.updateTable('machines').set({ branch_id: b ? t.branchIds.get(b)! : null, updated_at: when }).where('mac', '=', mac).execute();
      } else if (op === 3) {
        const free = macs.find((m) => m !== mac && random() < 0.3);
        if (free) await t.handle.db.updateTable('machines').set({ mac: free, updated_at: when }).where('mac', '=', mac).where((eb) => eb.not(eb.exists(eb.selectFrom('machines as o').select('o.id').where('o.mac', '=', free)))).execute();
      } else if (op === 4) {
        await t.handle.db.updateTable('branches').set({ server_tftp: random() < 0.5 ? null : `10.70.0.${step & 255}`, updated_at: when }).where('name', '=', pick(['north', 'south'])).execute();
      } else {
        await lookups.refresh();
        stale = false;
        continue;
      }
      if (here) lookups.invalidate(); else stale = true;
      if (stale) continue;
      for (let k = 0; k < 4; k++) {
        const c = { mac: pick(macs), branch: t.branchIds.get(pick(['north', 'south']))!, uuid: pick(uuids) };
        assert.deepEqual(seen(await resolveTarget(lookups, c.mac, c.branch, undefined, c.uuid)), seen(await resolveTarget(db, c.mac, c.branch, undefined, c.uuid)), `step ${step}: ${JSON.stringify(c)}`);
      }
    }
    await lookups.refresh();
    for (const mac of macs) for (const uuid of uuids) {
      assert.deepEqual(seen(await resolveTarget(lookups, mac, t.branchIds.get('north')!, undefined, uuid)), seen(await resolveTarget(db, mac, t.branchIds.get('north')!, undefined, uuid)), `${mac} ${uuid}`);
    }
  } finally {
    await t.close();
  }
});

test('a registered machine changed by another process: its row as it was until the next refresh, then as it is', async () => {
  const { t, asked, lookups, north, south } = await rig();
  try {
    await machine(t, '52:54:00:70:07:01', { branch: 'north' });
    await lookups.refresh();
    asked.length = 0;
    assert.equal((await lookups.machineByMac('52:54:00:70:07:01'))?.action, null);
    // An apply moves it to another branch and sets its action, in a transaction that began before
    // the newest row DHCP has read (updated_at in the past): only the revision tells.
    await t.handle.db.updateTable('machines').set({ branch_id: south, updated_at: 1 }).where('mac', '=', '52:54:00:70:07:01').execute();
    assert.equal((await lookups.machineByMac('52:54:00:70:07:01'))?.branch_id, north, 'within the TTL');
    await lookups.refresh();
    assert.equal((await lookups.machineByMac('52:54:00:70:07:01'))?.branch_id, south);
    await t.handle.db.updateTable('machines').set({ action: 'local', updated_at: 1 }).where('mac', '=', '52:54:00:70:07:01').execute();
    await lookups.refresh();
    assert.equal((await lookups.machineByMac('52:54:00:70:07:01'))?.action, 'local');
    const r = await resolveTarget(lookups, '52:54:00:70:07:01', south);
    assert.ok(r.ok && r.value.action === 'local' && r.value.branch?.id === south);
    assert.deepEqual(asked, [], 'all from what was read');
    await t.handle.db.deleteFrom('machines').where('mac', '=', '52:54:00:70:07:01').execute();
    await lookups.refresh();
    assert.equal(await lookups.machineByMac('52:54:00:70:07:01'), undefined, 'deleted');
  } finally {
    await t.close();
  }
});

test('the machine revision follows exactly the columns DHCP keeps of a registered machine', async () => {
  // DHCP's copy is re-read only when the revision moved; resolveTarget reads no more of a machine
  // than Registration (its type says so), and the trigger must follow each of those columns.
  const t = await makeCtx([]);
  try {
    const trigger = t.handle.sqlite.prepare("SELECT sql FROM sqlite_master WHERE name = 'machines_revision_update'").get() as { sql: string };
    const followed = /UPDATE OF ([\w, ]+) ON machines/i.exec(trigger.sql)![1]!.split(',').map((c) => c.trim());
    assert.deepEqual([...followed].sort(), [...REGISTRATION_COLUMNS].sort());
  } finally {
    await t.close();
  }
});

test('refreshes asked for during a read share it, or after an inventory change the one after it', async () => {
  const t = await makeCtx([{ cidr: '10.70.0.0/24', mode: 'authoritative', branch: 'north' }]);
  const real = new SightingRecorder(t.ctx.db, inlineWriter(t.ctx.db), log);
  let calls = 0;
  let active = 0;
  let most = 0;
  const slow = {
    async refresh(full?: boolean) {
      calls++;
      most = Math.max(most, ++active);
      try {
        await new Promise((r) => setTimeout(r, 20));
        return await real.refresh(full);
      } finally {
        active--;
      }
    },
    inTable: (mac: string) => real.inTable(mac),
    get complete() { return real.complete; },
  };
  const { look, asked } = counting(t);
  const lookups = new DhcpBootLookups(t.ctx.db, slow, log, look);
  try {
    await Promise.all([lookups.refresh(), lookups.refresh(), lookups.refresh()]);
    assert.equal(calls, 1, 'no change meanwhile: one read for all');
    calls = 0;
    const first = lookups.refresh();
    // An inventory change during the read: the reads asked for after it come after it.
    await machine(t, '52:54:00:70:06:01', { branch: 'north' });
    lookups.invalidate();
    await Promise.all([first, lookups.refresh(), lookups.refresh(), lookups.refresh()]);
    assert.equal(calls, 2, 'the read in flight, then one for all who asked during it');
    assert.equal(most, 1, 'never two at once');
    asked.length = 0;
    assert.equal((await lookups.machineByMac('52:54:00:70:06:01'))?.mac, '52:54:00:70:06:01');
    assert.equal(await lookups.machineByMac('52:54:00:70:06:02'), undefined);
    assert.deepEqual(asked, [], 'trusted again: the second read began after the change, and holds the new registration');
  } finally {
    await t.close();
  }
});
