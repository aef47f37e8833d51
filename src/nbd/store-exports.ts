// The block store seen as NBD exports: NAME (the current version, resolved when the client
// connects) and NAME@VERSION. The only file in src/nbd/ that knows the store's API.
import type { Logger } from 'pino';
import { NotFoundError, type BlockStore } from '../store/store.ts';
import type { NbdExports } from './exports.ts';

/** `log`: where an export that exists but cannot be opened (its index damaged or gone) is told; the client only sees an error code. */
export function storeExports(store: Pick<BlockStore, 'openExport' | 'listExports'>, log?: Pick<Logger, 'error'>): NbdExports {
  return {
    async list() {
      return (await store.listExports()).map((e) => ({ name: e.exportName, description: e.description }));
    },
    async open(name) {
      try {
        const reader = await store.openExport(name);
        const description = `${reader.row.name} version ${reader.row.version}`;
        return { size: reader.size, read: (offset, length) => reader.read(offset, length), readPieces: (offset, length) => reader.readPieces(offset, length), description };
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        log?.error({ export: name, err: err instanceof Error ? err.message : String(err) }, 'nbd export cannot be opened');
        throw err;
      }
    },
  };
}
