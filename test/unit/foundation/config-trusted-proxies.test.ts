// http.trustedProxies: addresses and CIDRs (v4, v6) of the reverse proxies whose X-Forwarded-For
// serve believes. A bad entry is one line naming the key and the entry; every entry the config
// takes is one fastify (proxy-addr) takes too, and matches what it should.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import { loadConfig } from '../../../src/config.ts';
import { trustProxyOption } from '../../../src/http/server.ts';
import { tempDir } from '../../helpers/cli.ts';

const GOOD = ['10.1.0.5', '10.2.0.0/24', '192.0.2.7/32', 'fd00::/64', '2001:db8::1', '::1', '::ffff:10.3.0.0/120', '172.16.0.0/12'];

function fromFile(entries: unknown): ReturnType<typeof loadConfig> {
  const file = path.join(tempDir(), 'bb.json');
  fs.writeFileSync(file, JSON.stringify({ http: { trustedProxies: entries } }));
  return loadConfig({ file, env: {} });
}

test('default: nobody is trusted, and fastify gets false (no X-Forwarded-* parsing at all)', () => {
  const cfg = loadConfig({ env: {} });
  assert.deepEqual(cfg.http.trustedProxies, []);
  assert.equal(trustProxyOption(cfg.http.trustedProxies), false);
});

test('IPv4 and IPv6 addresses and CIDRs are taken, from a file and from the environment', () => {
  assert.deepEqual(fromFile(GOOD).http.trustedProxies, GOOD);
  const env = loadConfig({ env: { BRANCHBOOT_HTTP_TRUSTED_PROXIES: '10.1.0.5,10.2.0.0/24, fd00::/64' } });
  assert.deepEqual(env.http.trustedProxies, ['10.1.0.5', '10.2.0.0/24', 'fd00::/64']);
  assert.deepEqual(loadConfig({ env: { BRANCHBOOT_HTTP_TRUSTED_PROXIES: '10.1.0.5' } }).http.trustedProxies, ['10.1.0.5']);
  assert.deepEqual(loadConfig({ env: { BRANCHBOOT_HTTP_TRUSTED_PROXIES: '["::1"]' } }).http.trustedProxies, ['::1']);
});

test('a bad entry is one line naming the key and the entry (file and environment)', () => {
  const bad: [string, RegExp][] = [
    ['cache.branch.lan', /is not an IPv4\/IPv6 address or CIDR/],
    ['loopback', /is not an IPv4\/IPv6 address or CIDR/],
    ['10.1', /is not an IPv4\/IPv6 address or CIDR/],
    ['10.1.0.256', /is not an IPv4\/IPv6 address or CIDR/],
    ['fe80::1%eth0', /is not an IPv4\/IPv6 address or CIDR/],
    [' 10.1.0.5', /is not an IPv4\/IPv6 address or CIDR/],
    ['10.2.0.0/33', /has a prefix length that is not 1-32/],
    ['0.0.0.0/0', /has a prefix length that is not 1-32/],
    ['::/0', /has a prefix length that is not 1-128/],
    ['10.2.0.0/255.255.255.0', /has a prefix length that is not 1-32/],
    ['10.2.0.0/', /has a prefix length that is not 1-32/],
  ];
  for (const [entry, why] of bad) {
    assert.throws(() => fromFile(['10.1.0.5', entry]), (err: Error) => {
      assert.ok(err.message.startsWith('config /'), err.message);
      assert.ok(err.message.includes(`http.trustedProxies: "${entry}" `), err.message);
      assert.match(err.message, why);
      assert.ok(!err.message.includes('\n'), 'one line');
      return err.name === 'UserError';
    }, entry);
  }
  assert.throws(() => fromFile('10.1.0.5'), /http\.trustedProxies: must be array/);
  assert.throws(() => loadConfig({ env: { BRANCHBOOT_HTTP_TRUSTED_PROXIES: '10.1.0.5,cache' } }), (err: Error) =>
    err.message === 'environment BRANCHBOOT_HTTP_TRUSTED_PROXIES="10.1.0.5,cache": http.trustedProxies: "cache" is not an IPv4/IPv6 address or CIDR (e.g. 10.1.0.5, 10.2.0.0/24, fd00::/64)');
});

test('fastify takes every accepted entry, and believes X-Forwarded-For only from a listed peer', async () => {
  const app = Fastify({ trustProxy: trustProxyOption(GOOD) });
  app.get('/', async (req) => ({ ip: req.ip, protocol: req.protocol, host: req.host }));
  await app.ready();
  const ask = async (remoteAddress: string, xff: string) =>
    (await app.inject({ url: '/', remoteAddress, headers: { 'x-forwarded-for': xff, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' } })).json<{ ip: string; protocol: string; host: string }>();
  try {
    for (const [peer, xff, ip] of [
      ['10.1.0.5', '10.9.0.1', '10.9.0.1'],
      ['10.2.0.200', '6.6.6.6, 10.9.0.2', '10.9.0.2'],
      ['::ffff:10.2.0.9', '10.9.0.3', '10.9.0.3'],
      ['::ffff:10.3.0.9', '10.9.0.4', '10.9.0.4'],
      ['fd00::7', '2001:db8:1::5', '2001:db8:1::5'],
      ['172.31.255.1', '10.9.0.6', '10.9.0.6'],
      ['10.1.0.5', '10.9.0.5, 10.2.0.1', '10.9.0.5'],
    ] as const) {
      const r = await ask(peer, xff);
      assert.deepEqual([r.ip, r.protocol], [ip, 'https'], `${peer} XFF ${xff}`);
    }
    for (const peer of ['10.1.0.6', '10.2.1.1', 'fd01::1', '::ffff:10.3.1.0', '172.32.0.1']) {
      const r = await ask(peer, '10.9.0.9');
      assert.deepEqual([r.ip, r.protocol], [peer, 'http'], `untrusted ${peer}: its XFF and X-Forwarded-Proto are ignored`);
      assert.notEqual(r.host, 'evil.example');
    }
  } finally {
    await app.close();
  }
});
