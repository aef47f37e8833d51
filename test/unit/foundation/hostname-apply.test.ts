// `apply` refuses two machines of one branch with one hostname (compared without case), naming
// the file and line: both in the file, or one in the file and one it leaves alone, or a machine
// moved into a branch where its name is taken. A database that already holds such a pair (from
// before this rule) keeps loading and exports; an apply that leaves the pair alone passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openDatabase } from '../../../src/db/index.ts';
import { parseInventory } from '../../../src/model/inventory/parse.ts';
import { applyInventory } from '../../../src/model/inventory/apply.ts';
import { loadInventory } from '../../../src/model/inventory/load.ts';
import { formatInventory } from '../../../src/model/inventory/export.ts';
import { UserError } from '../../../src/util/errors.ts';
import { tempDir } from '../../helpers/cli.ts';

type Db = ReturnType<typeof openDatabase>['db'];

async function withDb(fn: (db: Db) => Promise<void>) {
  const h = openDatabase(path.join(tempDir(), 'bb.db'));
  try { await fn(h.db); } finally { await h.close(); }
}

const BRANCHES = `branches:
  - name: lab
    subnets: [{ cidr: 10.1.0.0/24 }]
  - name: office
    subnets: [{ cidr: 10.2.0.0/24 }]
`;

const refused = (message: string) => (err: unknown) => {
  assert.ok(err instanceof UserError, String(err));
  assert.equal(err.message, message);
  return true;
};

test('two machines of one branch with one name in the file: refused at the second, naming the first and its line', () => withDb(async (db) => {
  const text = `${BRANCHES}machines:
  - mac: 52:54:00:00:00:01
    hostname: pc-01
    branch: lab
  - mac: 52:54:00:00:00:02
    hostname: pc-01
    branch: office
  - mac: 52:54:00:00:00:03
    hostname: PC-01
    branch: lab
`;
  await assert.rejects(applyInventory(db, parseInventory(text, 'inv.yaml')),
    refused('inv.yaml:14: machines[2].hostname: hostname PC-01 is taken in branch lab by machine 52:54:00:00:00:01 (inv.yaml:7: machines[0])'));
  assert.deepEqual((await loadInventory(db)).machines, [], 'a refused apply writes nothing');
  // --dry-run checks as much.
  await assert.rejects(applyInventory(db, parseInventory(text, 'inv.yaml'), { dryRun: true }), /taken in branch lab/);
}));

test('a name a machine the file leaves alone has, or a move into a branch where the name is taken: refused at the line', () => withDb(async (db) => {
  await applyInventory(db, parseInventory(`${BRANCHES}machines:
  - { mac: 52:54:00:00:00:01, hostname: pc-01, branch: lab }
  - { mac: 52:54:00:00:00:02, hostname: pc-01, branch: office }
`));
  await assert.rejects(applyInventory(db, parseInventory('machines:\n  - { mac: 52:54:00:00:00:03, hostname: pc-01, branch: lab }\n', 'more.yaml')),
    refused('more.yaml:2: machines[0].hostname: hostname pc-01 is taken in branch lab by machine 52:54:00:00:00:01'));
  await assert.rejects(applyInventory(db, parseInventory('machines:\n  - { mac: 52:54:00:00:00:02, hostname: pc-01, branch: lab }\n', 'move.yaml')),
    refused('move.yaml:2: machines[0].hostname: hostname pc-01 is taken in branch lab by machine 52:54:00:00:00:01'));
  // The same file with --prune removes the other machine: no clash left.
  const r = await applyInventory(db, parseInventory(`${BRANCHES}machines:\n  - { mac: 52:54:00:00:00:02, hostname: pc-01, branch: lab }\n`), { prune: true });
  assert.ok(r.applied);
  // Swapping two names in one file is fine: the result has one of each.
  await applyInventory(db, parseInventory(`${BRANCHES}machines:
  - { mac: 52:54:00:00:00:02, hostname: pc-02, branch: lab }
  - { mac: 52:54:00:00:00:04, hostname: pc-01, branch: lab }
`), { prune: true });
  assert.deepEqual((await loadInventory(db)).machines.map((m) => [m.mac, m.hostname]), [['52:54:00:00:00:02', 'pc-02'], ['52:54:00:00:00:04', 'pc-01']]);
}));

test('a database already holding a pair keeps loading and exporting; an apply that leaves the pair alone passes', () => withDb(async (db) => {
  await applyInventory(db, parseInventory(BRANCHES));
  const lab = (await db.selectFrom('branches').select('id').where('name', '=', 'lab').executeTakeFirstOrThrow()).id;
  const now = Date.now();
  await db.insertInto('machines').values(['52:54:00:00:00:01', '52:54:00:00:00:02'].map((mac) => ({ mac, hostname: 'old', branch_id: lab, state: 'registered' as const, created_at: now, updated_at: now }))).execute();
  const inv = await loadInventory(db);
  assert.equal(inv.machines.length, 2);
  assert.match(formatInventory(inv), /hostname: old[\s\S]*hostname: old/);
  const r = await applyInventory(db, parseInventory('machines:\n  - { mac: 52:54:00:00:00:03, hostname: new, branch: lab }\n'));
  assert.ok(r.applied);
}));
