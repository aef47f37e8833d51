// 0006 and every later migration on a database as branchboot up to 0005 left it: 200,000 boot events, audit
// rows, machines and leases with duplicate hostnames, leases whose subnet row is missing
// (written with foreign keys off). Every row is kept; a migration killed with SIGKILL at any
// moment leaves the database whole at the version before (or after) each migration, usable,
// and the next start finishes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { appliedVersion, loadMigrations, migrate } from '../../../src/db/migrate.ts';

const migrations = loadMigrations();
const V5 = migrations.findIndex((m) => m.name === 'leases_without_mac_index') + 1;
const LATEST = migrations.length;
const EVENTS = 200_000;

function buildAt5(file: string): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  migrate(db, migrations, V5);
  assert.equal(appliedVersion(db), V5);
  db.transaction(() => {
    for (let b = 1; b <= 20; b++) {
      db.prepare('INSERT INTO branches (id, name, created_at, updated_at) VALUES (?, ?, 1, 1)').run(b, `school-${b}`);
      db.prepare('INSERT INTO subnets (id, branch_id, cidr, created_at, updated_at) VALUES (?, ?, ?, 1, 1)').run(b, b, `10.${b}.0.0/24`);
    }
    const m = db.prepare('INSERT INTO machines (mac, hostname, branch_id, state, created_at, updated_at) VALUES (?, ?, ?, ?, 1, 1)');
    const l = db.prepare("INSERT INTO leases (subnet_id, ip, mac, client_id, hostname, state, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, 'bound', ?, 2)");
    for (let i = 0; i < 2000; i++) {
      const mac = `52:54:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
      const b = 1 + (i % 20);
      // Duplicate hostnames: "pc-3" in every branch, and twice in one (two NICs of a laptop).
      m.run(mac, `pc-${i % 97}`, b, i % 3 ? 'registered' : 'discovered');
      l.run(b, `10.${b}.0.${10 + Math.floor(i / 20)}`, mac, i % 5 ? null : `01${i}`, `pc-${i % 97}`, 5000 + i);
    }
    const e = db.prepare("INSERT INTO boot_events (at, mac, ip, branch_id, stage, detail) VALUES (?, ?, ?, ?, ?, '{}')");
    const stages = ['dhcp.discover', 'tftp.file', 'http.script', 'kernel', 'root', 'error'];
    for (let i = 0; i < EVENTS; i++) e.run(1_700_000_000_000 + i * 1000, `52:54:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, null, i % 7 ? 1 + (i % 20) : null, stages[i % 6]);
    const a = db.prepare("INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after) VALUES (?, ?, 'update', ?, ?, NULL, '{}')");
    for (let i = 0; i < 20_000; i++) a.run(i, `user:admin${i % 4}`, ['machine', 'branch', 'image'][i % 3], String(i % 500));
  })();
  // Leases whose subnet row is gone: written with foreign keys off (a hand edit, an old bug).
  db.pragma('foreign_keys = OFF');
  db.prepare("INSERT INTO leases (subnet_id, ip, mac, hostname, state, expires_at, updated_at) VALUES (99, '10.99.0.5', '52:54:00:aa:00:01', 'pc-3', 'bound', 9000, 3), (99, '10.99.0.6', '52:54:00:aa:00:02', 'pc-3', 'expired', 1, 3), (77, '10.99.0.5', '52:54:00:aa:00:03', NULL, 'offered', 2, 3)").run();
  db.close();
}

/** A digest of every row of every table; leases as 0006 keeps them (a missing subnet becomes NULL). 0010's counter is made by the migration, not kept from before. */
function digest(db: Database.Database): Record<string, string> {
  const out: Record<string, string> = {};
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('schema_migrations', 'machine_revision') ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  for (const t of tables) {
    const sql = t === 'leases'
      ? 'SELECT id, CASE WHEN EXISTS (SELECT 1 FROM subnets s WHERE s.id = leases.subnet_id) THEN subnet_id END, ip, mac, client_id, hostname, state, expires_at, relay_circuit, relay_remote, updated_at FROM leases ORDER BY id'
      : `SELECT * FROM "${t}" ORDER BY rowid`;
    const h = crypto.createHash('sha256');
    let n = 0;
    for (const row of db.prepare(sql).raw().iterate()) { h.update(JSON.stringify(row)); n++; }
    out[t] = `${n}:${h.digest('hex').slice(0, 16)}`;
  }
  return out;
}

/** What the schema says about the version: 0006's foreign key, 0007's, 0008's and 0009's indexes, 0010's table, 0011's trigger on action. */
function schemaVersion(db: Database.Database): number {
  const fk = (db.pragma('foreign_key_list(leases)') as { on_delete: string }[])[0]!.on_delete;
  const branchIdx = (db.pragma('index_info(boot_events_branch)') as { name: string }[]).map((c) => c.name).join(',');
  const has = (name: string) => db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(name) !== undefined;
  const [actor, uuid, updated, rev] = [has('audit_log_actor'), has('machines_uuid'), has('machines_updated'), has('machine_revision')];
  const onAction = /UPDATE OF [^O]*\baction\b/i.test((db.prepare("SELECT sql FROM sqlite_master WHERE name = 'machines_revision_update'").get() as { sql: string } | undefined)?.sql ?? '');
  if (fk === 'CASCADE' && branchIdx === 'branch_id,at' && !actor && !uuid && !updated && !rev) return 5;
  if (fk === 'SET NULL' && branchIdx === 'branch_id,at' && !actor && !uuid && !updated && !rev) return 6;
  if (fk === 'SET NULL' && branchIdx === 'branch_id' && actor) {
    return !uuid && !updated && !rev ? 7 : uuid && !updated && !rev ? 8 : uuid && updated && !rev ? 9 : uuid && updated && rev && !onAction ? 10 : uuid && updated && rev && onAction ? 11 : -1;
  }
  return -1;
}

const CHILD = `import { openDatabase } from ${JSON.stringify(path.resolve('src/db/index.ts'))};
process.stdout.write('go\\n');
const h = openDatabase(process.argv[1]);
process.stdout.write('done\\n');
await h.close();`;

/** Runs the upgrade in a child; `killAfterMs`: SIGKILL that long after it starts migrating. `ms`: its migration's time. */
function runChild(file: string, killAfterMs: number | undefined): Promise<{ finished: boolean; ms: number }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let go = 0;
    let done = 0;
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    c.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!go && out.includes('go\n')) go = Date.now();
      if (!done && out.includes('done')) done = Date.now();
      if (killAfterMs !== undefined && out.includes('go\n') && !out.includes('done')) {
        const at = killAfterMs;
        killAfterMs = undefined;
        setTimeout(() => { c.kill('SIGKILL'); }, at);
      }
    });
    c.on('error', reject);
    c.on('close', (code, signal) => {
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`child exited ${code}: ${err}`));
      else resolve({ finished: out.includes('done'), ms: done - go });
    });
  });
}

test('0006 and later over 200,000 events keep every row; SIGKILL mid-way leaves a whole, usable database', { timeout: 600_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-mig-kill-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const base = path.join(dir, 'base.db');
  buildAt5(base);
  const before = (() => { const db = new Database(base, { readonly: true }); try { return digest(db); } finally { db.close(); } })();
  assert.equal(before.boot_events!.split(':')[0], String(EVENTS));
  assert.equal(before.leases!.split(':')[0], '2003');

  // The whole upgrade, timed, as serve's start runs it (openDatabase: WAL, foreign keys on).
  const whole = path.join(dir, 'whole.db');
  fs.copyFileSync(base, whole);
  const w = await runChild(whole, undefined);
  assert.equal(w.finished, true);
  const took = w.ms;
  {
    const db = new Database(whole);
    assert.equal(appliedVersion(db), LATEST);
    assert.equal(schemaVersion(db), LATEST);
    assert.deepEqual(digest(db), before);
    assert.equal((db.prepare('SELECT count(*) AS n FROM leases WHERE subnet_id IS NULL').get() as { n: number }).n, 3);
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();
  }

  // Killed at moments across the migrations (0006's copy, the index builds, the commits).
  const landed: Record<number, number> = {};
  for (let k = 0; k < 8; k++) {
    const f = path.join(dir, `kill-${k}.db`);
    fs.copyFileSync(base, f);
    const { finished } = await runChild(f, Math.round((took * k) / 8));
    const db = new Database(f);
    const v = appliedVersion(db);
    landed[v] = (landed[v] ?? 0) + 1;
    assert.ok(v >= V5 && v <= LATEST, `kill ${k}: version ${v}`);
    assert.equal(schemaVersion(db), v, `kill ${k}: the schema is the whole of version ${v}`);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(digest(db), before, `kill ${k} (finished: ${finished}): every row`);
    // Usable at that version: DHCP's writes and the console's reads work.
    db.prepare("INSERT INTO boot_events (at, mac, branch_id, stage) VALUES (1, '52:54:00:00:00:01', 1, 'dhcp.discover')").run();
    db.prepare("UPDATE leases SET expires_at = expires_at + 1 WHERE mac = '52:54:00:00:00:01'").run();
    db.close();
    // The next start finishes the upgrade.
    assert.equal((await runChild(f, undefined)).finished, true);
    const again = new Database(f, { readonly: true });
    assert.equal(appliedVersion(again), LATEST);
    assert.equal(schemaVersion(again), LATEST);
    again.close();
    fs.rmSync(f, { force: true }); fs.rmSync(`${f}-wal`, { force: true }); fs.rmSync(`${f}-shm`, { force: true });
  }
  t.diagnostic(`upgrade of 200,000 events took ${took} ms; killed runs landed at versions ${JSON.stringify(landed)}`);
  assert.ok((landed[V5] ?? 0) + (landed[V5 + 1] ?? 0) >= 1, 'at least one kill landed before the upgrade finished');
});
