// The block store seen as NBD exports: NAME (the current version, resolved when the client
// connects) and NAME@VERSION. The only file in src/nbd/ that knows the store's API.
import { NotFoundError, type BlockStore } from '../store/store.ts';
import type { NbdExports } from './exports.ts';

export function storeExports(store: Pick<BlockStore, 'openExport' | 'listExports'>): NbdExports {
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
        throw err;
      }
    },
  };
}
