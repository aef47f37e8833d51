// http.trustedProxies with a real serve and real peers (network namespaces): behind a listed
// proxy the console's sign-in limits, the log and the session count the forwarded client, so
// one guesser behind a branch's proxy no longer locks out everyone there; a peer that is not
// listed gets nothing from its own X-Forwarded-For / X-Forwarded-Proto (spoofing changes nothing).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { cliArgv, runCli, tempDir } from '../../helpers/cli.ts';
import { canUseNetns, createTestNet, type NetHost, type TestNet } from '../../helpers/netns.ts';

const SERVER = '10.77.0.1';
const PROXY = '10.77.0.2';
const OTHER = '10.77.0.3';
const URL = `http://${SERVER}:8080`;
const PRE = 'p'.repeat(40);

let net: TestNet;
let dir: string;
let logs = '';

before(async () => {
  if (!canUseNetns()) return;
  dir = tempDir('bb-proxies-');
  const cfg = path.join(dir, 'branchboot.yaml');
  fs.writeFileSync(cfg, `dataDir: ${path.join(dir, 'var')}\nlog:\n  level: warn\nhttp:\n  address: ${SERVER}\n  port: 8080\n  trustedProxies: [${PROXY}, 10.77.9.0/24]\n`);
  for (const user of ['ada', 'bob']) {
    const made = await runCli(['admin', 'create', user, '--password-stdin', '--config', cfg], { input: 'correct-horse\n' });
    assert.equal(made.code, 0, made.stderr);
  }
  net = await createTestNet({ hosts: { server: { addr: `${SERVER}/24` }, proxy: { addr: `${PROXY}/24` }, other: { addr: `${OTHER}/24` } } });
  const proc = net.hosts.server!.spawn(cliArgv('serve', '--config', cfg));
  proc.stdout!.on('data', (d: Buffer) => { logs += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { logs += d.toString(); });
  for (let i = 0; ; i++) {
    if ((await net.hosts.proxy!.run(['curl', '-sf', '-o', '/dev/null', `${URL}/healthz`])).code === 0) break;
    if (proc.exitCode !== null || i > 600) throw new Error(`serve did not come up: ${logs}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => { await net?.destroy(); });

/**
 * Sign-in attempts from `host`, one curl each in one shell (the limiter's first lock lasts a
 * second), each with its own X-Forwarded-For ('' = none): the HTTP statuses, in order.
 */
async function signIns(host: NetHost, tries: { xff: string; password: string; user?: string }[]): Promise<string[]> {
  const lines = tries.map(({ xff, password, user = 'ada' }) => [
    'curl -s -o /dev/null -w "%{http_code}\\n"', `-b bb_prelogin=${PRE}`,
    ...(xff ? [`-H 'X-Forwarded-For: ${xff}'`] : []),
    `--data-urlencode _csrf=${PRE} --data-urlencode username=${user} --data-urlencode password=${password}`, `${URL}/login`,
  ].join(' '));
  const r = await host.run(['sh', '-c', lines.join('\n')]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

const failedFrom = () => logs.split('\n').filter((l) => l.includes('"console sign-in failed"')).map((l) => (JSON.parse(l) as { ip: string }).ip);

test('through a listed proxy, sign-in limits count the forwarded client: its lock is not its neighbour\'s', { skip: !canUseNetns() && 'needs root (netns)' }, async () => {
  const wrong = Array.from({ length: 5 }, () => ({ xff: '10.50.0.11', password: 'wrong' }));
  // Refusals take no password hash, so all three land inside the first lock (one second). The
  // client's own X-Forwarded-For in front of what the proxy appends changes nothing.
  const codes = await signIns(net.hosts.proxy!, [...wrong, { xff: '10.50.0.11', password: 'wrong' }, { xff: '1.2.3.4, 10.50.0.11', password: 'wrong' }, { xff: '10.50.0.12', password: 'wrong' }]);
  assert.deepEqual(codes, ['401', '401', '401', '401', '401', '429', '429', '401']);
  assert.deepEqual(failedFrom().slice(0, 6), ['10.50.0.11', '10.50.0.11', '10.50.0.11', '10.50.0.11', '10.50.0.11', '10.50.0.12']);
});

test('a peer that is not listed is counted by its own address, whatever X-Forwarded-For it sends', { skip: !canUseNetns() && 'needs root (netns)' }, async () => {
  const spoofed = ['10.50.0.21', '10.50.0.22', '10.50.0.23', '10.50.0.24', '10.50.0.25', '10.50.0.26'].map((xff) => ({ xff, password: 'wrong' }));
  assert.deepEqual(await signIns(net.hosts.other!, spoofed), ['401', '401', '401', '401', '401', '429']);
  assert.deepEqual(failedFrom().slice(-5), [OTHER, OTHER, OTHER, OTHER, OTHER]);
  // What it claimed to be was never counted: that client, through the proxy, is not locked.
  assert.deepEqual(await signIns(net.hosts.proxy!, [{ xff: '10.50.0.26', password: 'wrong' }]), ['401']);
});

test('a session records the forwarded client; X-Forwarded-Proto https makes cookies Secure only from a listed proxy', { skip: !canUseNetns() && 'needs root (netns)' }, async () => {
  assert.deepEqual(await signIns(net.hosts.proxy!, [{ xff: '10.50.0.13', password: 'correct-horse' }]), ['303']);
  // bob: ada from this peer may still be locked by the test before.
  assert.deepEqual(await signIns(net.hosts.other!, [{ xff: '10.50.0.14', password: 'correct-horse', user: 'bob' }]), ['303']);
  const db = new Database(path.join(dir, 'var', 'branchboot.db'), { readonly: true });
  try {
    const ips = (db.prepare('select ip from sessions order by created_at').all() as { ip: string }[]).map((r) => r.ip);
    assert.deepEqual(ips, ['10.50.0.13', OTHER]);
  } finally {
    db.close();
  }
  const cookie = async (host: NetHost) => {
    const r = await host.run(['curl', '-s', '-o', '/dev/null', '-D', '-', '-H', 'X-Forwarded-Proto: https', `${URL}/login`]);
    return /^set-cookie: bb_prelogin=.*$/im.exec(r.stdout)?.[0] ?? '';
  };
  assert.match(await cookie(net.hosts.proxy!), /; Secure/i);
  assert.doesNotMatch(await cookie(net.hosts.other!), /; Secure/i);
});
