import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { planCommand } from '../../../src/cli/plan.ts';
import { openDatabase } from '../../../src/db/index.ts';
import type { CliEnv } from '../../../src/cli/types.ts';
import { UserError } from '../../../src/util/errors.ts';
import { addBranch, addImage, addMachine, silentLog, tempDb, testConfig } from './fixtures.ts';

test('branchboot plan MAC [--arch] [--ipxe] [--json]', { timeout: 20_000 }, async () => {
  const t = tempDb();
  try {
    const b = await addBranch(t.db, { name: 'lab', default_image: 'debian' });
    await addImage(t.db, { name: 'debian', flavor: 'live-boot' }, [{ version: 1 }]);
    await addMachine(t.db, { mac: 'aa:bb:cc:00:00:01', branch_id: b });
    const file = path.join(t.dir, 'test.db');
    const run = async (args: string[]) => {
      const out = new PassThrough();
      let text = '';
      out.on('data', (d: Buffer) => { text += d.toString(); });
      const env: CliEnv = {
        config: testConfig({ database: file, 'http.publicUrl': 'http://10.1.0.1:8080' }), log: silentLog, out, err: new PassThrough(),
        openDb: () => openDatabase(file), interactive: false,
      };
      const code = await planCommand(args, env);
      return { code, text };
    };
    const human = await run(['AA-BB-CC-00-00-01', '--arch', '7']);
    assert.equal(human.code, 0);
    assert.match(human.text, /^plan {8}image \(action image\)$/m);
    assert.match(human.text, /^first file {2}snponly\.efi$/m);
    assert.match(human.text, /^cmdline {5}boot=live fetch=http:\/\/10\.1\.0\.1:8080\/images\/debian\/1\/filesystem\.squashfs BOOTIF=01-aa-bb-cc-00-00-01$/m);
    assert.match(human.text, /--- iPXE script ---\n#!ipxe\n/);
    const json = await run(['aa:bb:cc:00:00:01', '--ipxe', '--json']);
    const parsed = JSON.parse(json.text) as { mac: string; plan: { kind: string; firstFile: { bootfile: string } } };
    assert.equal(parsed.plan.kind, 'image');
    assert.equal(parsed.plan.firstFile.bootfile, 'http://10.1.0.1:8080/boot/aa:bb:cc:00:00:01.ipxe');
    const err = await run(['aa:bb:cc:00:00:99']);
    assert.equal(err.code, 1);
    assert.match(err.text, /^reason {6}unknown machine/m);
    await assert.rejects(run(['nonsense']), UserError);
    await assert.rejects(run(['aa:bb:cc:00:00:01', '--arch', 'x']), UserError);
    await assert.rejects(run([]), UserError);
    const events = await t.db.selectFrom('boot_events').selectAll().execute();
    assert.equal(events.length, 0, 'a preview records no boot events');
  } finally {
    await t.close();
  }
});
