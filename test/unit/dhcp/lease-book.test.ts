// Address choice rules that need a clock: expired leases are reused oldest first, a declined
// address comes back after its quarantine, open offers hold their address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseBook, DECLINE_QUARANTINE_MS, OFFER_HOLD_MS, type LeaseEntry } from '../../../src/dhcp/lease-book.ts';
import { buildScopes } from '../../../src/dhcp/scopes.ts';
import { ip } from './helpers.ts';

const scope = buildScopes([{ id: 1, branchId: 1, cidr: '10.5.0.0/24', mode: 'authoritative', ranges: ['10.5.0.10-10.5.0.12'], exclusions: [], gateway: null, dns: [], domain: null, leaseSeconds: 600, serverTftp: null, createdAt: 0 }], []).scopes[0]!;
const entry = (n: number, mac: string, state: LeaseEntry['state'], expiresAt: number): LeaseEntry => ({ scopeId: 1, ip: ip(`10.5.0.${n}`), mac, clientId: null, hostname: null, state, expiresAt, relayCircuit: null, relayRemote: null });

test('expired leases are reused oldest first; active ones never', () => {
  const book = new LeaseBook();
  const now = 1_000_000;
  book.set(entry(10, 'aa:00:00:00:00:01', 'bound', now - 5000));
  book.set(entry(11, 'aa:00:00:00:00:02', 'bound', now - 9000));
  book.set(entry(12, 'aa:00:00:00:00:03', 'bound', now + 60_000));
  assert.equal(book.choose(scope, 'bb:00:00:00:00:01', undefined, now), ip('10.5.0.11'));
  // the holder of an expired lease still gets its own address back
  assert.equal(book.choose(scope, 'aa:00:00:00:00:01', undefined, now), ip('10.5.0.10'));
  book.set(entry(11, 'bb:00:00:00:00:01', 'offered', now + OFFER_HOLD_MS));
  book.set(entry(10, 'bb:00:00:00:00:02', 'offered', now + OFFER_HOLD_MS));
  assert.equal(book.choose(scope, 'bb:00:00:00:00:03', undefined, now), undefined, 'all held: exhausted');
  assert.equal(book.choose(scope, 'bb:00:00:00:00:03', undefined, now + OFFER_HOLD_MS + 1), ip('10.5.0.10'), 'open offers lapse');
});

test('declined addresses are quarantined, then reusable', () => {
  const book = new LeaseBook();
  const now = 5_000_000;
  book.set(entry(10, 'aa:00:00:00:00:01', 'declined', now + DECLINE_QUARANTINE_MS));
  book.set(entry(11, 'aa:00:00:00:00:02', 'bound', now + 600_000));
  book.set(entry(12, 'aa:00:00:00:00:03', 'bound', now + 600_000));
  assert.equal(book.choose(scope, 'aa:00:00:00:00:01', ip('10.5.0.10'), now), undefined);
  assert.equal(book.usableBy(scope, ip('10.5.0.10'), 'aa:00:00:00:00:01', now), false);
  assert.equal(book.choose(scope, 'cc:00:00:00:00:01', undefined, now + DECLINE_QUARANTINE_MS + 1), ip('10.5.0.10'));
});

test('for one lease time after a restore, never-used addresses come from the top and the newest-expired are reused first', () => {
  const wide = buildScopes([{ id: 1, branchId: 1, cidr: '10.5.0.0/24', mode: 'authoritative', ranges: ['10.5.0.10-10.5.0.19'], exclusions: ['10.5.0.19'], gateway: null, dns: [], domain: null, leaseSeconds: 600, serverTftp: null, createdAt: 0 }], []).scopes[0]!;
  const now = 2_000_000;
  const offer = (book: LeaseBook, mac: string, at: number) => {
    const got = book.choose(wide, mac, undefined, at)!;
    book.set({ ...entry(0, mac, 'offered', at + OFFER_HOLD_MS), ip: got });
    return got;
  };
  const book = new LeaseBook();
  book.set(entry(10, 'aa:00:00:00:00:01', 'bound', now + 600_000));
  // What the old server did after the backup: the next never-used ones from the bottom.
  assert.deepEqual([offer(book, 'bb:00:00:00:00:01', now), offer(book, 'bb:00:00:00:00:02', now)], [ip('10.5.0.11'), ip('10.5.0.12')]);

  const restored = new LeaseBook();
  restored.restoredAt = now;
  restored.set(entry(10, 'aa:00:00:00:00:01', 'bound', now + 600_000));
  assert.equal(restored.inProbation(wide, now + 599_999), true);
  assert.deepEqual([offer(restored, 'cc:00:00:00:00:01', now), offer(restored, 'cc:00:00:00:00:02', now)], [ip('10.5.0.18'), ip('10.5.0.17')], 'from the top, the excluded .19 skipped');
  // The unknown holders renew: their addresses are free in this book, so they keep them.
  assert.equal(restored.usableBy(wide, ip('10.5.0.11'), 'bb:00:00:00:00:01', now + 300_000), true);

  // Reuse after the never-used run out: the most recently expired first, inside the lease time.
  const full = new LeaseBook();
  full.restoredAt = now;
  for (let n = 10; n <= 18; n++) full.set(entry(n, `dd:00:00:00:00:${n}`, 'bound', n === 13 ? now - 9000 : n === 15 ? now - 1000 : now + 600_000));
  assert.equal(full.choose(wide, 'ee:00:00:00:00:01', undefined, now), ip('10.5.0.15'));
  assert.equal(full.inProbation(wide, now + 600_000), false);
  assert.equal(full.choose(wide, 'ee:00:00:00:00:01', undefined, now + 600_000), ip('10.5.0.13'), 'a lease time later: oldest first again');
});
