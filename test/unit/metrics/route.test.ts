// GET /metrics in-process over the API fixture (two branches, tokens of each reach): who may
// read it, which per-subnet series each caller gets, and that the OpenAPI document lists it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeFixture } from '../api/helpers.ts';
import type { PoolStats } from '../../../src/dhcp/pool-stats.ts';

const f = await makeFixture({ machinesPerBranch: 1, users: false });
after(() => f.close());

const pool = (branchId: number, cidr: string, bound: number): PoolStats => ({
  scopeId: branchId, branchId, cidr, mode: 'authoritative', pool: 100, bound, offered: 0, declined: 0, free: 100 - bound, reservations: 0, exhausted: 0,
});
f.ctx.dhcpPools = () => [pool(f.branchA, '10.1.0.0/16', 7), pool(f.branchB, '10.2.0.0/16', 9)];
f.ctx.health = () => ({ dhcp: { state: 'running', detail: { received: 42, replied: 40 } }, tftp: { state: 'disabled' } });

test('an unrestricted token gets every branch\'s pools and the appliance-wide series', async () => {
  const r = await f.req('GET', '/metrics', { token: f.tokens.read });
  assert.equal(r.statusCode, 200, r.body);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.match(r.body, /^branchboot_dhcp_leases_bound\{branch="alpha",subnet="10\.1\.0\.0\/16",mode="authoritative"\} 7$/m);
  assert.match(r.body, /^branchboot_dhcp_leases_bound\{branch="bravo",subnet="10\.2\.0\.0\/16",mode="authoritative"\} 9$/m);
  assert.match(r.body, /^branchboot_dhcp_packets_received_total 42$/m);
  assert.match(r.body, /^branchboot_service_up\{service="dhcp"\} 1$/m);
  assert.doesNotMatch(r.body, /branchboot_service_up\{service="tftp"\}/, 'a disabled service is not "down"');
  assert.match(r.body, /^branchboot_service_state\{service="tftp",state="disabled"\} 1$/m);
  assert.match(r.body, /^branchboot_image_imports_running 0$/m);
});

test('a branch-limited token gets only its branch\'s pools', async () => {
  const r = await f.req('GET', '/metrics', { token: f.tokens.readA });
  assert.equal(r.statusCode, 200, r.body);
  assert.match(r.body, /branch="alpha"/);
  assert.doesNotMatch(r.body, /bravo|10\.2\.0\.0/);
  assert.match(r.body, /^branchboot_dhcp_packets_received_total 42$/m);
});

test('no token, a wrong one or another scheme: 401 with a Bearer challenge and nothing else', async () => {
  for (const headers of [{}, { authorization: 'Bearer bbt_nope' }, { authorization: 'Basic YTpi' }] as Array<Record<string, string>>) {
    const r = await f.req('GET', '/metrics', { headers });
    assert.equal(r.statusCode, 401, JSON.stringify(headers));
    assert.match(String(r.headers['www-authenticate']), /^Bearer realm="branchboot"/);
    assert.match(String(r.headers['content-type']), /problem\+json/);
    assert.doesNotMatch(r.body, /branchboot_/);
  }
});

test('the OpenAPI document lists GET /metrics', async () => {
  const doc = (await f.req('GET', '/api/docs/openapi.json')).json() as { paths: Record<string, Record<string, { summary: string }>> };
  assert.match(doc.paths['/metrics']!.get!.summary, /Prometheus/);
});
