// `branchboot apply FILE` and `branchboot export`: the inventory as code.
import fs from 'node:fs';
import path from 'node:path';
import { UserError, errnoCode, errorMessage } from '../util/errors.ts';
import { parseInventory } from '../model/inventory/parse.ts';
import { applyInventory } from '../model/inventory/apply.ts';
import { diffIsEmpty, formatDiff } from '../model/inventory/diff.ts';
import { loadInventory } from '../model/inventory/load.ts';
import { formatInventory } from '../model/inventory/export.ts';
import type { Command } from './types.ts';
import { needPositional, parse } from './args.ts';

export const applyCommand: Command = async (args, env) => {
  const { values, positionals } = parse('apply', args);
  needPositional('apply', positionals, 1);
  const file = positionals[0]!;
  let text: string;
  try {
    text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`apply: cannot read ${file}: ${errnoCode(err) === 'ENOENT' ? 'no such file' : errorMessage(err)}`);
  }
  const wanted = parseInventory(text, file === '-' ? 'stdin' : path.basename(file));
  const handle = env.openDb();
  try {
    const res = await applyInventory(handle.db, wanted, { prune: values.prune, dryRun: values['dry-run'] });
    const lines = formatDiff(res.diff);
    for (const l of lines) env.out.write(`${l}\n`);
    for (const k of res.kept) env.err.write(`kept ${k}\n`);
    if (diffIsEmpty(res.diff)) env.err.write('no changes\n');
    else env.err.write(`${values['dry-run'] ? 'would apply' : 'applied'} ${lines.length} change${lines.length === 1 ? '' : 's'}\n`);
    return 0;
  } finally {
    await handle.close();
  }
};

export const exportCommand: Command = async (args, env) => {
  const { values } = parse('export', args);
  const handle = env.openDb();
  try {
    const text = formatInventory(await loadInventory(handle.db));
    if (values.output) {
      // Temp file + rename: an interrupted export never leaves half a file where a whole one was.
      const tmp = `${values.output}.tmp-${process.pid}`;
      try {
        fs.writeFileSync(tmp, text);
        fs.renameSync(tmp, values.output);
      } catch (err) {
        fs.rmSync(tmp, { force: true });
        const code = errnoCode(err);
        const why = code === 'ENOENT' ? 'no such folder' : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
          : code === 'EISDIR' ? 'it is a folder' : errorMessage(err);
        throw new UserError(`export: cannot write ${values.output}: ${why}`);
      }
    } else {
      env.out.write(text);
    }
    return 0;
  } finally {
    await handle.close();
  }
};
