// 0006 rebuilds leases so a row outlives its subnet (ON DELETE SET NULL instead of CASCADE):
// every row is kept, ids included, and the rebuilt table behaves as the new schema says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { loadMigrations, migrate } from '../../../src/db/migrate.ts';

const migrations = loadMigrations();
const V = migrations.findIndex((m) => m.name === 'leases_outlive_subnets') + 1;

function at5(): Database.Database {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  migrate(db, migrations, V - 1);
  db.exec(`
    INSERT INTO branches (id, name, created_at, updated_at) VALUES (1, 'north', 1, 1), (2, 'south', 1, 1);
    INSERT INTO subnets (id, branch_id, cidr, created_at, updated_at) VALUES (1, 1, '10.1.0.0/24', 1, 1), (2, 2, '10.2.0.0/24', 1, 1);
    INSERT INTO leases (id, subnet_id, ip, mac, client_id, hostname, state, expires_at, relay_circuit, relay_remote, updated_at) VALUES
      (7, 1, '10.1.0.100', '52:54:00:00:00:01', '01aa', 'lab-01', 'bound', 5000, '0a', '0b', 10),
      (8, 1, '10.1.0.101', '52:54:00:00:00:02', NULL, NULL, 'declined', 6000, NULL, NULL, 11),
      (9, 2, '10.2.0.100', '52:54:00:00:00:03', NULL, NULL, 'released', 7000, NULL, NULL, 12);`);
  return db;
}

const all = (db: Database.Database) => db.prepare('SELECT * FROM leases ORDER BY id').all();

test('0006 keeps every lease row as it was', () => {
  const db = at5();
  const before = all(db);
  assert.equal(before.length, 3);
  migrate(db, migrations, V);
  assert.deepEqual(all(db), before);
  assert.deepEqual(db.pragma('foreign_key_check'), []);
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
});

test('0006 keeps a row whose subnet is missing (written with foreign keys off), as an orphan', () => {
  const db = at5();
  db.pragma('foreign_keys = OFF');
  db.exec("INSERT INTO leases (subnet_id, ip, mac, state, expires_at, updated_at) VALUES (99, '10.9.0.5', '52:54:00:00:00:09', 'bound', 8000, 13)");
  db.pragma('foreign_keys = ON');
  migrate(db, migrations, V);
  assert.equal(all(db).length, 4);
  assert.deepEqual(db.prepare("SELECT subnet_id FROM leases WHERE ip = '10.9.0.5'").get(), { subnet_id: null });
  assert.deepEqual(db.pragma('foreign_key_check'), []);
});

test('after 0006 a deleted branch or subnet leaves its leases, without a subnet; the others stay attached', () => {
  const db = at5();
  migrate(db, migrations);
  db.exec('DELETE FROM branches WHERE id = 1');
  assert.deepEqual(db.prepare('SELECT id, subnet_id FROM leases ORDER BY id').all(), [
    { id: 7, subnet_id: null }, { id: 8, subnet_id: null }, { id: 9, subnet_id: 2 },
  ]);
  db.exec('DELETE FROM subnets WHERE id = 2');
  assert.deepEqual(db.prepare('SELECT count(*) AS n FROM leases WHERE subnet_id IS NULL').get(), { n: 3 });
  // A lease for a subnet that does not exist is still refused.
  assert.throws(() => db.exec("INSERT INTO leases (subnet_id, ip, mac, state, expires_at, updated_at) VALUES (42, '10.4.0.1', 'x', 'bound', 1, 1)"), /FOREIGN KEY/);
  // The index behind UNIQUE (subnet_id, ip) serves the orphan lookup.
  const plan = db.prepare('EXPLAIN QUERY PLAN SELECT * FROM leases WHERE subnet_id IS NULL').all() as Array<{ detail: string }>;
  assert.match(plan.map((p) => p.detail).join('\n'), /USING INDEX/);
});

test('an own view over leases makes 0006 fail whole, at version 5, and says so', () => {
  const db = at5();
  db.exec('CREATE VIEW my_leases AS SELECT ip, mac FROM leases');
  assert.throws(() => migrate(db, migrations, V), /migration 0006_leases_outlive_subnets failed \(error in view my_leases: .*\); nothing of it was applied/);
  assert.equal(all(db).length, 3);
  assert.match((db.prepare("SELECT sql FROM sqlite_master WHERE name = 'leases'").get() as { sql: string }).sql, /ON DELETE CASCADE/);
  assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'leases_0006'").get(), undefined);
});
