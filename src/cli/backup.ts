// `branchboot backup` and `branchboot restore`: the database's copy taken while serve runs, and
// put back (serve stopped) after a disk died. The store is not in it: its chunks and blobs are
// content-addressed and never rewritten, so `rsync -a` of the store folder is the right copy.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError, errnoCode, errorMessage } from '../util/errors.ts';
import { count } from '../util/words.ts';
import { snapshotDatabase } from '../backup/snapshot.ts';
import { restoreDatabase } from '../backup/restore.ts';
import { describeFacts } from '../backup/facts.ts';
import { fsyncDir, tempBeside } from '../backup/durable.ts';
import type { Command } from './types.ts';
import { missingFlag, needPositional, parse } from './args.ts';
import { onInterrupt } from './main.ts';

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export const backupCommand: Command = async (args, env) => {
  const { values, positionals } = parse('backup', args);
  needPositional('backup', positionals, 0);
  const output = values.output;
  if (output === undefined || output === '') throw missingFlag('backup', '--output FILE');
  const { database } = env.config;
  const toStdout = output === '-';
  if (toStdout && (process.stdout.isTTY ?? false)) throw new UserError('backup: stdout is a terminal; give --output FILE or pipe it (branchboot backup -o - | gzip > FILE.gz)');
  if (!toStdout) refuseOutput(output, database);
  // For stdout the copy is made in the temp folder first: VACUUM INTO writes a file, and the
  // checks below must pass before a byte leaves.
  const tmp = toStdout ? path.join(os.tmpdir(), `.branchboot-backup-${process.pid}-${Date.now().toString(36)}.tmp`) : tempBeside(path.resolve(output), 'backup');
  removeDeadTemps(tmp);
  // The copy is a second or so of one core (VACUUM INTO, then SQLite's check of the copy): on a
  // 2-core appliance under a DHCP storm that core is serve's. Lowest priority: the backup takes
  // what serve leaves (bench/backup). The calling thread is the one that runs VACUUM INTO.
  try { os.setPriority(19); } catch { /* not allowed: run as is */ }
  const forget = onInterrupt(() => { removeTemp(tmp); return 'no backup written'; });
  try {
    const snap = snapshotDatabase(database, tmp);
    fs.chmodSync(tmp, 0o600);
    // The copy ran synchronously: a Ctrl-C meanwhile waits in libuv's signal pipe, read in the
    // loop's poll phase. Two check phases have a poll phase between them, so the interrupt hook
    // runs here (temp removed, exit 130) before the rename; without it the signal was dropped with
    // the hook and a backup the user had stopped appeared anyway (one setImmediate was not enough).
    await new Promise((r) => setImmediate(() => setImmediate(r)));
    if (toStdout) {
      await pipeline(fs.createReadStream(tmp), env.out, { end: false });
    } else {
      fs.renameSync(tmp, output);
      fsyncDir(path.dirname(path.resolve(output)));
    }
    const where = toStdout ? 'stdout' : output;
    if (values.json) (toStdout ? env.err : env.out).write(`${JSON.stringify({ database, output: where, ...snap, readMs: Math.round(snap.readMs) })}\n`);
    else {
      (toStdout ? env.err : env.out).write(`backup of ${database} written to ${where}: ${mib(snap.bytes)}, ${describeFacts(snap)}; read in ${Math.round(snap.readMs)} ms\n`
        + `not in it: the store ${env.config.store.path} (copy it with rsync -a; it changes only on import), the config file\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = errnoCode(err);
    if (code === undefined) throw err;
    if (code === 'EPIPE') throw new UserError('backup: stdout was closed before the whole backup was written');
    throw new UserError(`backup: cannot write ${output}: ${errorMessage(err)}`);
  } finally {
    forget();
    removeTemp(tmp);
  }
};

/** Where the backup may not go: a folder, a missing folder, the live database itself. */
function refuseOutput(output: string, database: string): void {
  const abs = path.resolve(output);
  const dir = path.dirname(abs);
  if (!fs.existsSync(dir)) throw new UserError(`backup: cannot write ${output}: no such folder ${dir}`);
  // Checked before the copy: through the service wrapper the command runs as the service user,
  // often from root's 0700 home, where even removing the temp fails and became an internal error.
  try { fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK); } catch {
    throw new UserError(`backup: cannot write ${output}: folder ${dir} is not writable by ${userName()}`);
  }
  let st: fs.Stats | undefined;
  try { st = fs.statSync(abs); } catch { /* a new file */ }
  if (st?.isDirectory()) throw new UserError(`backup: cannot write ${output}: it is a folder`);
  const same = (a: string, b: string) => { try { return fs.realpathSync(a) === fs.realpathSync(b); } catch { return false; } };
  const base = path.resolve(database);
  if (same(abs, base) || ['-wal', '-shm', '-journal'].some((s) => same(abs, `${base}${s}`))) throw new UserError(`backup: ${output} is the live database (or its WAL); write the backup elsewhere`);
}

function userName(): string {
  try { return `user ${os.userInfo().username}`; } catch { return `uid ${process.getuid?.() ?? '?'}`; }
}

/**
 * Temp files of earlier backups to the same place whose process is gone (SIGKILL, power loss:
 * no hook ran). A backup run hourly by a timer would otherwise leave one per kill, each as big
 * as the database.
 */
function removeDeadTemps(tmp: string): void {
  const dir = path.dirname(tmp);
  const prefix = path.basename(tmp).replace(/-\d+-[0-9a-z]+\.tmp$/, '-');
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return; }
  for (const name of names) {
    const pid = name.startsWith(prefix) ? Number(/^(\d+)-[0-9a-z]+\.tmp$/.exec(name.slice(prefix.length))?.[1]) : NaN;
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    removeTemp(path.join(dir, name));
  }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return errnoCode(err) === 'EPERM'; }
}

function removeTemp(tmp: string): void {
  for (const f of [tmp, `${tmp}-journal`, `${tmp}-wal`, `${tmp}-shm`]) fs.rmSync(f, { force: true });
}

export const restoreCommand: Command = async (args, env) => {
  const { values, positionals } = parse('restore', args);
  needPositional('restore', positionals, 1);
  const file = positionals[0]!;
  if (file === '-' && (process.stdin.isTTY ?? false)) throw new UserError('restore: stdin is a terminal; give FILE or pipe a backup in (zstd -dc FILE.zst | branchboot restore -)');
  const { database, dataDir, store } = env.config;
  const r = await restoreDatabase({
    file, database, dataDir, storePath: store.path, allowMissing: values['allow-missing'],
    onTemp: (tmp) => onInterrupt(() => { removeTemp(tmp); return `${database} left as it was`; }),
  });
  if (values.json) {
    env.out.write(`${JSON.stringify({ file, database, ...r })}\n`);
    return 0;
  }
  const migrated = r.fromVersion !== r.facts.schemaVersion ? ` (migrated from ${r.fromVersion})` : '';
  env.out.write(`restored ${file === '-' ? 'stdin' : file} to ${database}: ${describeFacts(r.facts)}${migrated}\n`);
  if (r.importsFailed) env.out.write(`${count(r.importsFailed, 'import')} in flight when the backup was taken marked failed (import again)\n`);
  if (r.store.gaps.length) {
    for (const g of r.store.gaps) env.out.write(`missing in the store: ${g.version}: ${g.problem}\n`);
  }
  env.out.write(`store ${store.path}: ${r.store.versions - r.store.gaps.length} of ${count(r.store.versions, 'ready version')} have their index, blobs and ${count(r.store.chunks, 'chunk')} present (\`branchboot store verify\` reads and checks them)\n`);
  if (r.aside) env.out.write(`the database that was there is kept as ${r.aside}\n`);
  if (r.staleWal) env.out.write(`a stale ${database}-wal with no database beside it was moved to ${r.staleWal}\n`);
  return 0;
};
