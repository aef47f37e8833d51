// `branchboot store verify|gc`: checking and trimming the chunk store.
import { UserError } from '../util/errors.ts';
import { count } from '../util/words.ts';
import fs from 'node:fs';
import { GcRefusedError, gcStore, verifyStore } from '../store/maintenance.ts';
import { storeWriteError } from '../store/store-errors.ts';
import type { Db } from '../db/index.ts';
import { versionsHoldingChunks } from '../model/image-versions.ts';
import type { Command } from './types.ts';
import { needPositional, parse } from './args.ts';
import { progressBar } from './image.ts';

/**
 * A store folder that is not there while versions need it (a wrong store.path, a file system not
 * mounted) is said as such, not as every index missing. A new installation has none yet: fine.
 */
async function needStore(cmd: string, root: string, db: Db): Promise<void> {
  if (fs.existsSync(root) || (await versionsHoldingChunks(db)).length === 0) return;
  throw new UserError(`${cmd}: the store ${root} does not exist (is store.path right, is its file system mounted?)`);
}

const verifyCmd: Command = async (args, env) => {
  const { values, positionals } = parse('store verify', args);
  needPositional('store verify', positionals, 0);
  const handle = env.openDb();
  const bar = progressBar(env, 'verify');
  try {
    await needStore('store verify', env.config.store.path, handle.db);
    const r = await verifyStore(handle.db, env.config.store.path, env.log, { quarantine: values.quarantine, onProgress: (p) => bar.update(p.done, p.total, `${p.done}/${p.total}`) });
    bar.end();
    const bad = r.missing.length + r.corrupt.length + r.unreadable.length + r.badBlobs.length + r.indexProblems.length;
    if (values.json) {
      env.out.write(`${JSON.stringify(r, null, 2)}\n`);
    } else {
      for (const m of r.missing) env.out.write(`missing ${m.chunk} (used by ${m.usedBy.join(', ')})\n`);
      for (const c of r.corrupt) env.out.write(`corrupt ${c.chunk} (used by ${c.usedBy.join(', ')}): ${c.why}${c.quarantined ? ' [quarantined]' : ''}${c.quarantineError ? ` [not quarantined: ${c.quarantineError}]` : ''}\n`);
      for (const u of r.unreadable) env.out.write(`unreadable ${u.chunk} (used by ${u.usedBy.join(', ')}): ${u.why}\n`);
      for (const b of r.badBlobs) env.out.write(`bad blob ${b.blob}: ${b.why}\n`);
      for (const p of r.indexProblems) env.out.write(`bad index ${p}\n`);
      env.out.write(`${count(r.chunksChecked, 'chunk')} and ${count(r.blobsChecked, 'blob')} checked: ${bad === 0 ? 'all good' : `${bad} problem${bad === 1 ? '' : 's'}`}\n`);
    }
    return bad === 0 ? 0 : 1;
  } finally {
    bar.end();
    await handle.close();
  }
};

const gcCmd: Command = async (args, env) => {
  const { values, positionals } = parse('store gc', args);
  needPositional('store gc', positionals, 0);
  const graceHours = values.grace === undefined ? env.config.store.gcGraceHours : values.grace.trim() === '' ? NaN : Number(values.grace);
  if (!Number.isFinite(graceHours) || graceHours < 0) throw new UserError('store gc: --grace must be a number of hours ≥ 0', 2);
  const handle = env.openDb();
  const bar = progressBar(env, 'gc');
  try {
    await needStore('store gc', env.config.store.path, handle.db);
    let r;
    try {
      r = await gcStore(handle.db, env.config.store.path, env.log, { graceHours, onProgress: (p) => bar.update(p.done, Math.max(p.total, p.done), `${p.done} files`) });
    } catch (err) {
      if (err instanceof GcRefusedError) throw new UserError(`store gc: ${err.message}`);
      const e = storeWriteError(err, env.config.store.path, () => 'gc stopped there; run it again once the store can be written');
      if (e) throw new UserError(`store gc: ${e.message}`);
      throw err;
    }
    bar.end();
    if (values.json) env.out.write(`${JSON.stringify(r)}\n`);
    else env.out.write(`removed ${count(r.chunksRemoved, 'chunk')} (${(r.bytesRemoved / 1024 / 1024).toFixed(1)} MiB), ${count(r.blobsRemoved, 'blob')}, ${count(r.indexesRemoved, 'index', 'indexes')}, ${count(r.tmpRemoved, 'temp file')}; kept ${r.chunksKept}; spared ${r.chunksSpared} younger than ${graceHours} h; ${count(r.staleImportsFailed, 'interrupted import')} marked failed${r.asidesRestored ? `; put back ${count(r.asidesRestored, 'file')} a killed gc had left aside` : ''}\n`);
    return 0;
  } finally {
    bar.end();
    await handle.close();
  }
};

export const storeCommand: Command = async (args, env) => {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'verify': return verifyCmd(rest, env);
    case 'gc': return gcCmd(rest, env);
    default: throw new UserError(`store: ${sub === undefined ? 'missing' : `unknown subcommand "${sub}", not`} verify or gc (branchboot store --help)`, 2);
  }
};
