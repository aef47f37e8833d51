// The shipped systemd units (contrib/systemd) as systemd reads them: `systemd-analyze verify`
// (syntax, directives, the executables exist) and `systemd-analyze security` (exposure), both
// offline: systemd is not PID 1 where the tests run. The backup unit's command is run as its
// user, as written; so is the command wrapper; the example config is loaded and matches the unit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, serviceUserDataDir } from '../../helpers/cli.ts';
import { loadConfig } from '../../../src/config.ts';
import { UNIT_DIR, readSection, setprivArgs, capabilities } from './unit-file.ts';

const UNITS = ['branchboot.service', 'branchboot-backup.service', 'branchboot-backup.timer'];
const analyze = (args: string[]) => spawnSync('systemd-analyze', args, { cwd: UNIT_DIR, encoding: 'utf8', timeout: 60_000 });
const serve = readSection('branchboot.service', 'Service');
const backup = readSection('branchboot-backup.service', 'Service');

test('systemd-analyze verify: no warning for any shipped unit', () => {
  const r = analyze(['verify', ...UNITS.map((u) => `./${u}`)]);
  assert.equal(r.error, undefined, 'systemd-analyze is missing (Debian package systemd, scripts/apt/service.txt)');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', r.stderr);
});

test('systemd-analyze security --offline: serve at most 2.0 ("OK"), the backup at most 1.5', () => {
  for (const [unit, threshold] of [['branchboot.service', 20], ['branchboot-backup.service', 15]] as const) {
    const r = analyze(['security', '--offline=yes', `--threshold=${threshold}`, `./${unit}`]);
    const level = /Overall exposure level for \S+: (\S+)/.exec(r.stdout)?.[1];
    assert.equal(r.status, 0, `${unit}: exposure ${level} is above ${threshold / 10}\n${r.stdout}${r.stderr}`);
  }
});

test('ExecStart is the built command from the documented checkout, with the config the units share', () => {
  const exec = serve.get('ExecStart') ?? [];
  assert.deepEqual(exec, ['/usr/bin/node /opt/branchboot/bin/branchboot.js serve --config /etc/branchboot/branchboot.yaml']);
  const cfg = loadConfig({ file: path.join(UNIT_DIR, 'branchboot.yaml'), env: {} });
  // The dataDir is the unit's StateDirectory=, under /var/lib.
  assert.deepEqual(serve.get('StateDirectory'), ['branchboot']);
  assert.equal(cfg.dataDir, '/var/lib/branchboot');
  assert.ok(cfg.http.shutdownGraceSeconds < Number(serve.get('TimeoutStopSec')?.[0]), 'TimeoutStopSec must be above http.shutdownGraceSeconds');
  // The export folder the example comments in is the one the unit lets serve write.
  const exportDir = /#\s+exportDir: (\S+)/.exec(fs.readFileSync(path.join(UNIT_DIR, 'branchboot.yaml'), 'utf8'))?.[1];
  assert.ok(exportDir && (serve.get('ReadWritePaths') ?? []).includes(`-${exportDir}`), `ReadWritePaths does not name ${exportDir}`);
});

const asRoot = { skip: process.getuid?.() !== 0 && 'needs root (chown, setpriv, runuser)' };

test('the backup unit\'s command, run as its user with its capabilities: a 0600 snapshot named by weekday', asRoot, () => {
  const [cmd] = backup.get('ExecStart') ?? [];
  const m = /^\/bin\/sh -c '(.*)'$/.exec(cmd ?? '');
  assert.ok(m, `ExecStart is not /bin/sh -c '…': ${cmd}`);
  // systemd's own escapes ($$ → $, %% → %), then this checkout and temp folders in place of the install's.
  const { dir: base, dataDir, cfg } = serviceUserDataDir('bb-service-', { mode: 0o700 });
  const out = path.join(base, 'backup');
  fs.mkdirSync(out, { mode: 0o700 });
  fs.chownSync(out, 65534, 65534);
  const script = m[1]!.replaceAll('$$', '$').replaceAll('%%', '%')
    .replaceAll('/opt/branchboot/', `${ROOT}/`).replaceAll('/etc/branchboot/branchboot.yaml', cfg).replaceAll('/var/lib/branchboot-backup', out)
    .replaceAll('/usr/bin/node', process.execPath);
  assert.deepEqual(backup.get('StateDirectory'), ['branchboot-backup']);
  assert.deepEqual(capabilities(backup, 'CapabilityBoundingSet'), []);
  const priv = setprivArgs(backup, 65534, 65534);
  const env = { PATH: process.env.PATH, LANG: 'C.UTF-8' };
  // A database to back up, made by its owner as README says (through the wrapper, as branchboot).
  const made = spawnSync(priv[0]!, [...priv.slice(1), process.execPath, path.join(ROOT, 'bin', 'branchboot.js'), 'token', 'create', 'cron', '--config', cfg], { cwd: dataDir, env, encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const r = spawnSync(priv[0]!, [...priv.slice(1), '/bin/sh', '-c', script], { cwd: '/', env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const day = spawnSync('date', ['+%a'], { env, encoding: 'utf8' }).stdout.trim();
  const file = path.join(out, `branchboot-${day}.db`);
  assert.deepEqual(fs.readdirSync(out), [path.basename(file)]);
  const st = fs.statSync(file);
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(st.uid, 65534);
  assert.equal(fs.readFileSync(file).subarray(0, 16).toString('latin1'), 'SQLite format 3\0');
});

test('the command wrapper (contrib/systemd/branchboot) runs a command run by root as the service user, with its config', asRoot, () => {
  const { dir: base, dataDir, cfg } = serviceUserDataDir('bb-service-');
  const text = fs.readFileSync(path.join(UNIT_DIR, 'branchboot'), 'utf8');
  assert.match(text, /runuser -u branchboot -- \/usr\/bin\/node \/opt\/branchboot\/bin\/branchboot\.js "\$@"/);
  const wrapper = path.join(base, 'branchboot');
  fs.writeFileSync(wrapper, text.replaceAll('/etc/branchboot/branchboot.yaml', cfg).replaceAll('/usr/bin/node', process.execPath)
    .replaceAll('/opt/branchboot/', `${ROOT}/`).replaceAll('-u branchboot', '-u nobody').replaceAll('= branchboot ]', '= nobody ]'), { mode: 0o755 });
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BRANCHBOOT_')));
  const r = spawnSync(wrapper, ['token', 'create', 'via-wrapper'], { cwd: '/', env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.trim(), /^\S{20,}$/);
  assert.equal(fs.statSync(path.join(dataDir, 'branchboot.db')).uid, 65534);
});
