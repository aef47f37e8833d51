// Every BRANCHBOOT_* variable the code reads outside the config is one the config loader lets
// through, and the README names it: BRANCHBOOT_SYNCFS_ADDON (the sanitizer build of
// native/syncfs.c) was taken for a config key, so every command with it set refused to start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../../src/config.ts';
import { ROOT } from '../../helpers/cli.ts';

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

// Read directly (env.X, env['X']) or through the addon loader (util/addon.ts: loadAddon(name, 'X')).
const readByCode = new Set(sources(path.join(ROOT, 'src'))
  .flatMap((f) => [...fs.readFileSync(f, 'utf8').matchAll(/\benv(?:\.|\[['"])(BRANCHBOOT_[A-Z0-9_]+)|\bloadAddon\b[^(]*\(\s*'[^']*',\s*'(BRANCHBOOT_[A-Z0-9_]+)'/g)].map((m) => (m[1] ?? m[2])!)));

test('the code reads BRANCHBOOT_CONFIG, _UDP and the addon paths from the environment', () => {
  for (const v of ['BRANCHBOOT_CONFIG', 'BRANCHBOOT_UDP', 'BRANCHBOOT_UDP_ADDON', 'BRANCHBOOT_SCAN_ADDON', 'BRANCHBOOT_HASH_ADDON', 'BRANCHBOOT_SYNCFS_ADDON']) assert.ok(readByCode.has(v), v);
});

test('a BRANCHBOOT_* variable the code reads is not refused as a config key, and the README names it', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  for (const v of readByCode) {
    if (v === 'BRANCHBOOT_CONFIG') continue;
    assert.doesNotThrow(() => loadConfig({ env: { [v]: '/nonexistent/x' } }), v);
    assert.ok(readme.includes(`\`${v}`), `README names ${v}`);
  }
});

test('an unknown BRANCHBOOT_* variable is refused naming the variable, not "config"', () => {
  assert.throws(() => loadConfig({ env: { BRANCHBOOT_NOPE: '1' } }), { message: 'environment BRANCHBOOT_NOPE="1": unknown key "nope"' });
  assert.throws(() => loadConfig({ env: { BRANCHBOOT_HTTP_PROT: '9000' } }), { message: 'environment BRANCHBOOT_HTTP_PROT="9000": unknown key "http.prot"' });
});
