// Where things live under the store root (config store.path). The chunk folder is casync's
// castr layout so nginx, casync and desync can read the directory as it is.
import path from 'node:path';

export const CHUNK_DIR = 'default.castr';
export const INDEX_DIR = 'indexes';
export const BLOB_DIR = 'blobs';
export const QUARANTINE_DIR = 'quarantine';
export const TMP_SUFFIX = '.tmp';

export function chunkRelPath(hex: string): string {
  return `${CHUNK_DIR}/${hex.slice(0, 4)}/${hex}.cacnk`;
}

export function chunkPath(root: string, hex: string): string {
  return path.join(root, CHUNK_DIR, hex.slice(0, 4), `${hex}.cacnk`);
}

/** Store-relative path of a version's index (image_versions.index_file). */
export function indexRelPath(imageId: number, version: number): string {
  return `${INDEX_DIR}/${imageId}/${version}.caibx`;
}

export function blobRelPath(hex: string): string {
  return `${BLOB_DIR}/${hex.slice(0, 2)}/${hex}`;
}
