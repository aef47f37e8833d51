import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { envKeyToPath, loadConfig } from '../../../src/config.ts';
import { CONFIG_KEYS } from '../../../src/config-validate.generated.ts';
import { tempDir } from '../../helpers/cli.ts';

test('defaults work on a fresh machine: data under ./var, HTTP on 127.0.0.1:8080, DHCP off', () => {
  const cfg = loadConfig({ env: {} });
  assert.equal(cfg.dataDir, path.resolve('var'));
  assert.equal(cfg.database, path.resolve('var', 'branchboot.db'));
  assert.equal(cfg.http.address, '127.0.0.1');
  assert.equal(cfg.http.port, 8080);
  assert.equal(cfg.dhcp.enabled, false);
  assert.equal(cfg.tftp.enabled, false);
  assert.equal(cfg.nbd.port, 10809);
});

test('file values, then BRANCHBOOT_* environment overrides', () => {
  const dir = tempDir();
  const file = path.join(dir, 'bb.yaml');
  fs.writeFileSync(file, 'dataDir: data\nhttp:\n  port: 9000\ntftp:\n  maxBlksize: 1468\n');
  const cfg = loadConfig({ file, env: { BRANCHBOOT_HTTP_PORT: '9100', BRANCHBOOT_DHCP_ENABLED: 'true' } });
  assert.equal(cfg.dataDir, path.join(dir, 'data'), 'relative paths in the file are relative to the file');
  assert.equal(cfg.http.port, 9100);
  assert.equal(cfg.dhcp.enabled, true);
  assert.equal(cfg.tftp.maxBlksize, 1468);
  assert.deepEqual(envKeyToPath('BRANCHBOOT_TFTP_MAX_BLKSIZE'), ['tftp', 'maxBlksize']);
  assert.deepEqual(envKeyToPath('BRANCHBOOT_DATA_DIR'), ['dataDir']);
});

test('JSON config files are read too', () => {
  const dir = tempDir();
  const file = path.join(dir, 'bb.json');
  fs.writeFileSync(file, JSON.stringify({ http: { port: 8123 } }));
  assert.equal(loadConfig({ file, env: {} }).http.port, 8123);
});

test('a mistake is one line naming the key and why', () => {
  const dir = tempDir();
  const cases: [string, RegExp][] = [
    ['http:\n  prot: 80\n', /unknown key "http\.prot"/],
    ['http:\n  port: 99999\n', /http\.port: must be <= 65535/],
    ['http:\n  port: eighty\n', /http\.port: must be integer/],
    ['log:\n  level: loud\n', /log\.level: must be one of fatal, error/],
    ['http:\n  address: my-host\n', /http\.address: "my-host" is not an IPv4 address/],
    ['http: [1, 2\n', /not valid YAML/],
    ['- a\n- b\n', /top level must be a mapping/],
  ];
  for (const [text, re] of cases) {
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, text);
    assert.throws(() => loadConfig({ file, env: {} }), (err: Error) => {
      assert.match(err.message, re);
      assert.ok(err.message.includes(file), `names the file: ${err.message}`);
      assert.ok(!err.message.includes('\n'), 'one line');
      return err.name === 'UserError';
    });
  }
  assert.throws(() => loadConfig({ file: path.join(dir, 'missing.yaml'), env: {} }), /cannot read: no such file/);
  assert.throws(() => loadConfig({ env: { BRANCHBOOT_NBD_PORT: '0' } }), /: environment BRANCHBOOT_NBD_PORT="0": nbd\.port: must be >= 1$/);
});

test('a config path that is a folder, or unreadable, is one line saying so', () => {
  const dir = tempDir();
  assert.throws(() => loadConfig({ file: dir, env: {} }), (err: Error) => err.message === `config ${dir}: cannot read: it is a folder, not a file`);
});

test('environment values are read as the type their key has', () => {
  const cfg = loadConfig({ env: {
    BRANCHBOOT_DATA_DIR: '2026', BRANCHBOOT_HTTP_SHUTDOWN_GRACE_SECONDS: '1e1', BRANCHBOOT_DHCP_INTERFACES: 'eth0, eth1',
    BRANCHBOOT_BOOT_CONSOLE_ARGS: 'true',
  } });
  assert.equal(cfg.dataDir, path.resolve('2026'));
  assert.equal(cfg.http.shutdownGraceSeconds, 10);
  assert.deepEqual(cfg.dhcp.interfaces, ['eth0', 'eth1']);
  assert.equal(cfg.boot.consoleArgs, 'true');
  for (const [key, value, re] of [
    ['BRANCHBOOT_HTTP_PORT', 'abc', /^environment BRANCHBOOT_HTTP_PORT="abc": http\.port: must be integer$/],
    ['BRANCHBOOT_HTTP_PORT', '', /^environment BRANCHBOOT_HTTP_PORT="": http\.port: must be integer$/],
    ['BRANCHBOOT_DHCP_ENABLED', 'yes', /^environment BRANCHBOOT_DHCP_ENABLED="yes": dhcp\.enabled: must be boolean$/],
    ['BRANCHBOOT_LOG_LEVEL', '3', /^environment BRANCHBOOT_LOG_LEVEL="3": log\.level: must be one of fatal/],
  ] as const) {
    assert.throws(() => loadConfig({ env: { [key]: value } }), (err: Error) => re.test(err.message), `${key}=${value}`);
  }
});

test('relative paths: from the file relative to its folder, from the environment relative to the working directory', () => {
  const dir = tempDir();
  const file = path.join(dir, 'bb.yaml');
  fs.writeFileSync(file, 'store:\n  path: filestore\ntftp:\n  roots: [tftp]\n');
  const fromFile = loadConfig({ file, env: {} });
  assert.equal(fromFile.store.path, path.join(dir, 'filestore'));
  assert.deepEqual(fromFile.tftp.roots, [path.join(dir, 'tftp')]);
  const fromEnv = loadConfig({ file, env: { BRANCHBOOT_STORE_PATH: 'envstore', BRANCHBOOT_STORE_IMPORT_ROOTS: 'in', BRANCHBOOT_BOOT_EXPORT_DIR: 'out' } });
  assert.equal(fromEnv.store.path, path.resolve('envstore'));
  assert.deepEqual(fromEnv.store.importRoots, [path.resolve('in')]);
  assert.equal(fromEnv.boot.exportDir, path.resolve('out'));
  assert.deepEqual(fromEnv.tftp.roots, [path.join(dir, 'tftp')]);
});

test('every key of the schema has a BRANCHBOOT_* name that reaches it (cacheMB, events.keepDays too)', () => {
  const snake = (k: string) => k.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
  let n = 0;
  for (const [top, inner] of Object.entries(CONFIG_KEYS as Record<string, string[] | null>)) {
    for (const keyPath of inner ? inner.map((k) => [top, k]) : [[top]]) {
      assert.deepEqual(envKeyToPath(`BRANCHBOOT_${keyPath.map(snake).join('_')}`), keyPath);
      n++;
    }
  }
  assert.ok(n > 30, `${n} keys`);
  const cfg = loadConfig({ env: { BRANCHBOOT_NBD_CACHE_MB: '64', BRANCHBOOT_STORE_HTTP_CACHE_MB: '32', BRANCHBOOT_EVENTS_KEEP_DAYS: '7' } });
  assert.equal(cfg.nbd.cacheMB, 64);
  assert.equal(cfg.store.httpCacheMB, 32);
  assert.equal(cfg.events.keepDays, 7);
  assert.throws(() => loadConfig({ env: { BRANCHBOOT_NBD_CACHE_MEGS: '64' } }), /unknown key "nbd\.cacheMegs"/);
});

test('the README\'s configuration table names every key of the schema', () => {
  const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../../../README.md'), 'utf8');
  const missing = Object.entries(CONFIG_KEYS as Record<string, string[] | null>)
    .flatMap(([top, inner]) => (inner ? inner.map((k) => `${top}.${k}`) : [top]))
    .filter((key) => !readme.includes(`\`${key}\``));
  assert.deepEqual(missing, []);
});
