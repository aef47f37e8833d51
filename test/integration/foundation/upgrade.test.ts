// An admin's upgrade: a database written by each earlier schema, with the rows that schema's
// branchboot wrote, then today's `branchboot migrate` and the commands on top of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { loadMigrations, migrate } from '../../../src/db/migrate.ts';
import { runCli, startServe, tempDir } from '../../helpers/cli.ts';

const migrations = loadMigrations();
const newest = migrations.at(-1)!.version;
const TOKEN = 'bbt_upgradeTestTokenUpgradeTestTokenUpgradeTes';

/** A dataDir whose database went only as far as `version`, filled as that version filled it. */
function oldDataDir(version: number): { dir: string; cfg: string; db: string } {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'var'));
  const file = path.join(dir, 'var', 'branchboot.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  migrate(db, migrations, version);
  const t = Date.UTC(2025, 0, 15);
  db.exec(`
    INSERT INTO branches (id, name, default_image, transport, server_http, created_at, updated_at)
      VALUES (1, 'north', 'ubuntu', 'http', 'http://10.1.0.2:8080', ${t}, ${t});
    INSERT INTO subnets (branch_id, cidr, dhcp_mode, ranges, gateway, dns, created_at, updated_at)
      VALUES (1, '10.1.0.0/24', 'authoritative', '["10.1.0.100-10.1.0.199"]', '10.1.0.1', '["10.1.0.1"]', ${t}, ${t});
    INSERT INTO images (id, name, flavor, transport, created_at, updated_at) VALUES (1, 'ubuntu', 'live-boot', 'http', ${t}, ${t});
    INSERT INTO image_versions (image_id, version, state, root_kind, root_file, size_bytes, index_file, kernel_blob, initrd_blob, chunker, created_at, updated_at)
      VALUES (1, 1, 'ready', 'squashfs', 'filesystem.squashfs', 2000000000, 'idx/1/1.caibx', 'blobs/k1', 'blobs/i1', 'fixed:262144', ${t}, ${t});
    INSERT INTO machines (mac, hostname, branch_id, state, image_id, image_version, last_seen_at, created_at, updated_at)
      VALUES ('52:54:00:00:00:01', 'lab-01', 1, 'registered', 1, 1, ${t}, ${t}, ${t}),
             ('52:54:00:00:00:02', NULL, 1, 'discovered', NULL, NULL, ${t}, ${t}, ${t});
    INSERT INTO leases (subnet_id, ip, mac, state, expires_at, updated_at) VALUES (1, '10.1.0.100', '52:54:00:00:00:01', 'bound', ${t + 3_600_000}, ${t});
    INSERT INTO boot_events (at, mac, ip, branch_id, stage, detail) VALUES (${t}, '52:54:00:00:00:01', '10.1.0.100', 1, 'dhcp.discover', '{"arch":7}');
    INSERT INTO users (id, username, password_hash, role, created_at, updated_at) VALUES (1, 'ada', 'scrypt$16384$8$1$c2FsdA$aGFzaA', 'admin', ${t}, ${t});
    INSERT INTO api_tokens (name, token_hash, prefix, scopes, created_at) VALUES ('monitor', '${createHash('sha256').update(TOKEN).digest('hex')}', '${TOKEN.slice(0, 10)}', '["read"]', ${t});
    INSERT INTO audit_log (at, actor, action, entity, entity_id, after) VALUES (${t}, 'cli', 'apply', 'branch', '1', '{"name":"north"}');
  `);
  if (version >= 2) db.exec(`INSERT INTO sessions (id, user_id, csrf, created_at, last_seen_at, expires_at) VALUES ('${'ab'.repeat(32)}', 1, 'x', ${t}, ${t}, ${t + 1})`);
  db.close();
  const cfg = path.join(dir, 'branchboot.yaml');
  fs.writeFileSync(cfg, 'dataDir: var\nlog:\n  level: warn\nhttp:\n  port: 0\n');
  return { dir, cfg, db: file };
}

// Two CLI runs per version (each starts a Node process: ~1 s, 5 s on a loaded 2-core machine);
// the oldest gets the other commands too.
for (let version = 1; version < newest; version++) {
  test(`a database from schema version ${version}: migrate says what it did and export reads the old rows`, async () => {
    const { cfg } = oldDataDir(version);
    const m = await runCli(['migrate', '--config', cfg]);
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stdout, new RegExp(`migrated from schema version ${version} to ${newest}\\n$`));
    const exported = await runCli(['export', '--config', cfg]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /mac: 52:54:00:00:00:01\n\s+hostname: lab-01/);
  });
}

test('the oldest database, migrated: migrate again changes nothing, image list and plan read the old rows', async () => {
  const { cfg } = oldDataDir(1);
  assert.equal((await runCli(['migrate', '--config', cfg])).code, 0);
  assert.match((await runCli(['migrate', '--config', cfg])).stdout, new RegExp(`at schema version ${newest} \\(up to date\\)`));
  const images = await runCli(['image', 'list', '--json', '--config', cfg]);
  assert.equal(images.code, 0, images.stderr);
  assert.match(images.stdout, /"ubuntu"/);
  const plan = await runCli(['plan', '52:54:00:00:00:01', '--config', cfg]);
  assert.equal(plan.code, 0, plan.stdout + plan.stderr);
  assert.match(plan.stdout, /ubuntu/);
});

test('serve on the oldest database migrates it and answers the API with a token that schema stored', async () => {
  const { cfg } = oldDataDir(1);
  fs.writeFileSync(cfg, 'dataDir: var\nlog:\n  level: info\nhttp:\n  port: 0\n');
  const { proc, url, logs } = await startServe(cfg, { port: 0, cwd: path.dirname(cfg) });
  try {
    const r = await fetch(`${url}/api/v1/machines`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.status, 200, logs());
    assert.match(await r.text(), /lab-01/);
  } finally {
    const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, logs());
  }
});

test('a migration that fails leaves the database whole at the version before, and says so in one line', async () => {
  const { cfg, db: file } = oldDataDir(newest - 1);
  // A failure at the end of the migration's transaction, whatever the newest migration does:
  // its row in schema_migrations is refused, as a full disk (SQLITE_FULL) would refuse the
  // commit. (A real cause per migration is tested with it, e.g. migration-0006.test.ts.)
  const db = new Database(file);
  db.exec("CREATE TRIGGER full_disk BEFORE INSERT ON schema_migrations BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
  db.close();
  const last = migrations.at(-1)!;
  const r = await runCli(['migrate', '--config', cfg]);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`^branchboot: database .*branchboot\\.db: migration ${String(newest).padStart(4, '0')}_${last.name} failed \\(.+\\); nothing of it was applied, the database is intact at schema version ${newest - 1}`));
  const after = new Database(file, { readonly: true });
  assert.equal((after.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v, newest - 1);
  assert.equal((after.prepare('SELECT count(*) AS n FROM machines').get() as { n: number }).n, 2);
  after.close();
});

test('a database from a newer branchboot is refused in one line and left byte for byte as it was', async () => {
  const { cfg, db: file } = oldDataDir(newest);
  const db = new Database(file);
  db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(newest + 1, 'from_the_future', Date.now());
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const digest = () => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  const before = digest();
  for (const command of [['migrate'], ['serve']]) {
    const r = await runCli([...command, '--config', cfg]);
    assert.equal(r.code, 1, `${command.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim(), `branchboot: database ${file}: schema version ${newest + 1} is newer than this branchboot (knows up to ${newest}); upgrade branchboot, the database was not changed`);
  }
  assert.equal(digest(), before);
});
