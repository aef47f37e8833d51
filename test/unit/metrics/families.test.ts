// Every family /metrics can serve, each service on and counting, through Prometheus's linter
// (the netns test sees only what its serve runs: no TFTP, no NBD).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { metricFamilies, type MetricsInput } from '../../../src/http/metrics/families.ts';
import { encodeFamilies } from '../../../src/http/metrics/text.ts';

const input: MetricsInput = {
  scope: null,
  services: {
    dhcp: { state: 'running', detail: { received: 9, malformed: 1, limited: 1, replied: 6, silent: 3, exhausted: 1, commits: 2, leaseRows: 4, bootEvents: 8, bootEventsJoined: 3, bootEventsDropped: 0 } },
    tftp: { state: 'running', detail: { active: 1, requests: 5, completed: 3, failed: 1, refused: 1, bytes: 123456, cache: { files: 2, bytes: 2048 } } },
    nbd: { state: 'failed', detail: { connections: 2, accepted: 7, sentBytes: 1 << 20 } },
    publish: { state: 'disabled' },
  },
  pools: [{ scopeId: 1, branchId: 1, cidr: '10.0.0.0/24', mode: 'authoritative', pool: 200, bound: 20, offered: 1, declined: 1, free: 178, reservations: 3, exhausted: 2 }],
  branchNames: new Map([[1, 'north "A"\\1']]),
  chunkCache: { hits: 10, misses: 2, bytes: 4096 },
  httpStore: { chunkHits: 3, chunkMisses: 4, bytes: 5 },
  bootEventsWritten: 12,
  importsRunning: 1,
  process: { residentBytes: 1e8, cpuSeconds: 1.5, startTimeSeconds: 1.8e9, version: '0.1.0', node: 'v20.20.2' },
};

test('all families, all present, pass promtool check metrics with no finding', () => {
  const fams = metricFamilies(input);
  assert.ok(fams.every((f) => f.samples.length > 0), `families without samples: ${fams.filter((f) => f.samples.length === 0).map((f) => f.name).join(', ')}`);
  assert.ok(fams.every((f) => f.name.startsWith('branchboot_') && (f.type === 'counter') === f.name.endsWith('_total')));
  const text = encodeFamilies(fams);
  assert.match(text, /^branchboot_dhcp_pool_free_addresses\{branch="north \\"A\\"\\\\1",subnet="10\.0\.0\.0\/24",mode="authoritative"\} 178$/m);
  assert.match(text, /^branchboot_service_up\{service="nbd"\} 0$/m);
  assert.match(text, /^branchboot_dhcp_subnet_pool_exhausted_total\{branch="north \\"A\\"\\\\1",subnet="10\.0\.0\.0\/24",mode="authoritative"\} 2$/m);
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.error, undefined, 'promtool runs (scripts/apt/metrics.txt: prometheus)');
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.equal(`${r.stdout}${r.stderr}`.trim(), '');
});

test('a branch-limited caller gets no pool of another branch, even with its name known', () => {
  const text = encodeFamilies(metricFamilies({ ...input, scope: [2] }));
  assert.doesNotMatch(text, /branch="/);
  assert.doesNotMatch(text, /^branchboot_dhcp_pool_addresses/m);
  assert.match(text, /^branchboot_dhcp_packets_received_total 9$/m);
});
