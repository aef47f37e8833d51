// `branchboot image import|list|remove`: image versions in the block store.
import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError, errorMessage } from '../util/errors.ts';
// The importer (and what it pulls in) is loaded by `image import` alone: `image list` stays cheap.
import type { ImportProgress } from '../store/importer.ts';
import { imageUrls, nbdExportName } from '../store/urls.ts';
import { failInterruptedImport, getVersion, listVersions, parseVersionRef, type VersionRow } from '../model/image-versions.ts';
import { deleteVersion } from '../model/images-admin.ts';
import { AdminError } from '../model/admin-errors.ts';
import type { Command, CliEnv } from './types.ts';
import { needPositional, parse } from './args.ts';
import { importArgs } from './image-import-args.ts';
import { onInterrupt } from './main.ts';

const MB = 1024 * 1024;

/** A one-line progress bar on stderr, redrawn at most 10 times a second; nothing when not a terminal. */
export function progressBar(env: CliEnv, label: string): { update(done: number, total: number, extra?: string): void; end(): void } {
  let last = 0;
  let drawn = false;
  return {
    update(done, total, extra = '') {
      if (!env.interactive) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const width = 24;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
      env.err.write(`\r${label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${extra}${' '.repeat(4)}`);
      drawn = true;
    },
    end() {
      if (drawn) env.err.write('\n');
    },
  };
}

function human(n: number): string {
  if (n >= 1024 * MB) return `${(n / 1024 / MB).toFixed(2)} GiB`;
  if (n >= MB) return `${(n / MB).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

const importCmd: Command = async (args, env) => {
  const o = importArgs(args);
  const [{ importImage, ImportAbandonedError }, { ImageInputError }, { IndexFormatError }, { StoreWriteError }] = await Promise.all([
    import('../store/importer.ts'), import('../store/probe.ts'), import('../store/caibx.ts'), import('../store/store-errors.ts'),
  ]);
  const handle = env.openDb();
  const bar = progressBar(env, o.name);
  let mbps = '';
  const t0 = Date.now();
  const source = path.resolve(o.file);
  // Ctrl-C / SIGTERM: the version this import created is failed now, not left 'importing'.
  const offInterrupt = onInterrupt(() => {
    const q = failInterruptedImport(handle.db, o.name, source, 'import interrupted (signal)', t0 - 1000).compile();
    const r = handle.sqlite.prepare(q.sql).get(...q.parameters) as { version: number } | undefined;
    return r && `${o.name}@${r.version} marked failed, nothing was published`;
  });
  try {
    const r = await importImage({ config: env.config, db: handle.db, log: env.log }, {
      file: o.file, name: o.name, flavor: o.flavor, kernel: o.kernel, initrd: o.initrd, chunker: o.chunker,
      onProgress: (p: ImportProgress) => {
        const secs = (Date.now() - t0) / 1000;
        if (secs > 0.5) mbps = `${(p.bytesDone / MB / secs).toFixed(0)} MB/s `;
        bar.update(p.bytesDone, p.bytesTotal, `${human(p.bytesDone)} ${mbps}chunks ${p.chunksTotal} new ${p.chunksNew}`);
      },
    }, env.headStart?.imageImport);
    bar.end();
    if (o.json) {
      // maxRssMB: the process's peak resident memory (bounded-memory import, see bench/store).
      env.out.write(`${JSON.stringify({ ...r, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`);
    } else {
      env.out.write(`${r.name}@${r.version}: ${human(r.sizeBytes)} ${r.rootKind} (${r.flavor}), chunker ${r.chunker}\n`);
      env.out.write(`  chunks ${r.chunksTotal} total, ${r.chunksNew} new; ${human(r.bytesNew)} new in the store; compression ${r.compressionRatio.toFixed(2)}x; ${r.seconds.toFixed(1)} s (${(r.sizeBytes / MB / Math.max(r.seconds, 0.001)).toFixed(0)} MB/s)\n`);
      env.out.write(`  index ${imageUrls.index(r.name, r.version)}  root ${imageUrls.root(r.name, r.version, r.rootFile)}  nbd ${nbdExportName(r.name, r.version)}\n`);
    }
    // A wrong file (a log, a half-downloaded archive) imports as well as an image: say so.
    if (r.rootKind === 'raw') env.err.write(`branchboot: note: ${o.file} is not a squashfs, ext2/3/4, ISO 9660, qcow2 or partitioned disk image; it was stored byte for byte\n`);
    return 0;
  } catch (err) {
    bar.end();
    if (err instanceof ImageInputError || err instanceof IndexFormatError || err instanceof StoreWriteError || err instanceof ImportAbandonedError) throw new UserError(`image import: ${err.message}`);
    throw err;
  } finally {
    offInterrupt();
    await handle.close();
  }
};

export interface VersionListing {
  name: string;
  version: number;
  state: string;
  current: boolean;
  flavor: string | null;
  rootKind: string | null;
  sizeBytes: number;
  chunker: string | null;
  chunksTotal: number;
  bytesStored: number;
  bytesNew: number;
  createdAt: string;
  error: string | null;
  urls: { index: string; root: string; rootAlias: string | null; kernel: string | null; initrd: string | null };
  nbdExport: string;
}

export function describeVersion(v: VersionRow, currentVersion: number | undefined): VersionListing {
  const rootFile = v.root_file ?? 'root.img';
  return {
    name: v.name, version: v.version, state: v.state, current: currentVersion === v.version, flavor: v.flavor ?? v.image_flavor, rootKind: v.root_kind,
    sizeBytes: v.size_bytes, chunker: v.chunker, chunksTotal: v.chunks_total, bytesStored: v.bytes_stored, bytesNew: v.bytes_new,
    createdAt: new Date(v.created_at).toISOString(), error: v.error,
    urls: {
      index: imageUrls.index(v.name, v.version),
      root: imageUrls.root(v.name, v.version),
      rootAlias: rootFile !== 'root.img' ? imageUrls.root(v.name, v.version, rootFile) : null,
      kernel: v.kernel_blob ? imageUrls.kernel(v.name, v.version) : null,
      initrd: v.initrd_blob ? imageUrls.initrd(v.name, v.version) : null,
    },
    nbdExport: nbdExportName(v.name, v.version),
  };
}

const listCmd: Command = async (args, env) => {
  const { values, positionals } = parse('image list', args);
  const handle = env.openDb();
  try {
    const rows = await listVersions(handle.db, { includeRemoved: values.all, name: positionals[0] });
    // The version `current` points at: the pinned one when ready, else the newest ready.
    const current = new Map<string, number>();
    for (const r of rows) {
      if (r.state !== 'ready') continue;
      if (r.current_version !== null ? r.version === r.current_version : r.version > (current.get(r.name) ?? 0)) current.set(r.name, r.version);
    }
    const list = rows.map((r) => describeVersion(r, current.get(r.name)));
    if (values.json) {
      env.out.write(`${JSON.stringify(list, null, 2)}\n`);
      return 0;
    }
    if (!list.length) {
      env.err.write('no images\n');
      return 0;
    }
    for (const v of list) {
      env.out.write(`${v.name}@${v.version}${v.current ? ' (current)' : ''}  ${v.state}  ${human(v.sizeBytes)}  ${v.rootKind ?? '?'}  ${v.flavor ?? ''}  ${v.chunker ?? ''}  stored ${human(v.bytesStored)}${v.error ? `  error: ${v.error}` : ''}\n`);
      if (v.state !== 'ready') continue;
      env.out.write(`  index  ${v.urls.index}\n  root   ${v.urls.root}${v.urls.rootAlias ? `  (also ${v.urls.rootAlias})` : ''}\n`);
      if (v.urls.kernel) env.out.write(`  kernel ${v.urls.kernel}\n  initrd ${v.urls.initrd}\n`);
      env.out.write(`  nbd    ${v.nbdExport}${v.current ? ` (and ${v.name})` : ''}\n`);
    }
    return 0;
  } finally {
    await handle.close();
  }
};

const removeCmd: Command = async (args, env) => {
  const { positionals } = parse('image remove', args);
  needPositional('image remove', positionals, 1);
  const ref = parseVersionRef(positionals[0]!);
  if (!ref || ref.ref === 'current') throw new UserError('image remove: name a version: NAME@VERSION', 2);
  const handle = env.openDb();
  try {
    const row = await getVersion(handle.db, ref.name, ref.ref);
    if (!row || row.state === 'removed') throw new UserError(`image remove: no version ${ref.name}@${ref.ref}`);
    // Its import would mark it ready when it ends, bringing back what was removed (the API refuses this too).
    if (row.state === 'importing') throw new UserError(`image remove: ${ref.name}@${ref.ref} is still importing; remove it once the import has ended (an interrupted import is marked failed by \`store gc\` after 10 minutes)`);
    // The API's rules (nothing pinned to it, not the current version, no branch boots it) and
    // its audit row: a version the console refuses to remove must not go from the shell either.
    await deleteVersion(handle.db, 'cli', ref.name, row.version).catch((err: unknown) => {
      throw err instanceof AdminError ? new UserError(`image remove: ${ref.name}@${row.version}: ${err.message}`) : err;
    });
    // The index goes now (nothing may serve the version any more); its chunks go with `store gc`.
    if (row.index_file) await fs.rm(path.join(env.config.store.path, row.index_file), { force: true }).catch((err: unknown) => env.log.warn({ err: errorMessage(err) }, 'could not remove index'));
    env.err.write(`removed ${ref.name}@${ref.ref}; run \`branchboot store gc\` to free its chunks\n`);
    return 0;
  } finally {
    await handle.close();
  }
};

export const imageCommand: Command = async (args, env) => {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'import': return importCmd(rest, env);
    case 'list': case 'ls': return listCmd(rest, env);
    case 'remove': case 'rm': return removeCmd(rest, env);
    default: throw new UserError(`image: ${sub === undefined ? 'missing' : `unknown subcommand "${sub}", not`} import, list or remove (branchboot image --help)`, 2);
  }
};
