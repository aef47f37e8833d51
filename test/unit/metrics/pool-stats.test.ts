// Pool use as /metrics reports it, from a lease book and a scope built the way the server builds them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildScopes } from '../../../src/dhcp/scopes.ts';
import { LeaseBook, type LeaseEntry } from '../../../src/dhcp/lease-book.ts';
import { poolAddressCount, poolStats } from '../../../src/dhcp/pool-stats.ts';
import { parseIpv4 } from '../../../src/util/net.ts';

const NOW = 1_800_000_000_000;

function scope() {
  const snap = buildScopes([{
    id: 7, branchId: 3, cidr: '10.5.0.0/24', mode: 'authoritative', ranges: ['10.5.0.10-10.5.0.29'], exclusions: ['10.5.0.12-10.5.0.13', '10.5.0.13-10.5.0.14'],
    gateway: '10.5.0.10', dns: [], domain: null, leaseSeconds: 600, serverTftp: null, createdAt: 1,
  }], [{ mac: '52:54:00:00:00:aa', ip: '10.5.0.20' }, { mac: '52:54:00:00:00:bb', ip: '10.5.0.200' }], NOW);
  return snap.scopes[0]!;
}

const lease = (ip: string, mac: string, state: LeaseEntry['state'], expiresAt: number): LeaseEntry => ({
  scopeId: 7, ip: parseIpv4(ip)!, mac, clientId: null, hostname: null, state, expiresAt, relayCircuit: null, relayRemote: null,
});

test('pool addresses: ranges less overlapping exclusions (the gateway is one) and fixed addresses in the pool', () => {
  const s = scope();
  // 20 in the range; .10 (gateway), .12-.14 excluded: 16; the fixed .20 is in the pool: 15 (.200 is outside it).
  assert.equal(poolAddressCount(s), 16);
  assert.equal(poolStats(s, [], NOW).pool, 15);
  assert.equal(poolStats(s, [], NOW).free, 15);
  assert.equal(poolStats(s, [], NOW).reservations, 2);
});

test('bound, offered and declined count while unexpired; free is the pool less what is held in it', () => {
  const s = scope();
  const book = new LeaseBook();
  book.load(7, []);
  for (const e of [
    lease('10.5.0.11', '52:54:00:00:00:01', 'bound', NOW + 1000),
    lease('10.5.0.15', '52:54:00:00:00:02', 'offered', NOW + 1000),
    lease('10.5.0.16', '52:54:00:00:00:03', 'declined', NOW + 1000),
    lease('10.5.0.17', '52:54:00:00:00:04', 'bound', NOW - 1), // expired: free again
    lease('10.5.0.18', '52:54:00:00:00:05', 'released', NOW + 1000),
    lease('10.5.0.20', '52:54:00:00:00:aa', 'bound', NOW + 1000), // its fixed address: not a pool address
    lease('10.5.0.200', '52:54:00:00:00:bb', 'bound', NOW + 1000),
  ]) book.set(e);
  const st = poolStats(s, book.entries(7), NOW);
  assert.deepEqual({ ...st }, {
    scopeId: 7, branchId: 3, cidr: '10.5.0.0/24', mode: 'authoritative',
    pool: 15, bound: 3, offered: 1, declined: 1, free: 12, reservations: 2, exhausted: 0,
  });
});
