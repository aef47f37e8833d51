// markCandidates from native/scan.c (built by `npm install` through binding.gyp), or undefined
// when the addon is not built: the chunk workers then use the WebAssembly scan.
import { loadAddon } from '../util/addon.ts';
import { T_IN } from './boundary-scan.ts';

type Mark = (buf: Uint8Array, from: number, to: number, d: number, bits: Uint32Array, table: Int32Array) => void;

function load(): Mark | undefined {
  const addon = loadAddon<{ markCandidates: Mark }>('branchboot_scan', 'BRANCHBOOT_SCAN_ADDON');
  return addon instanceof Error ? undefined : addon.markCandidates;
}
const mark = load();

/** markCandidates (boundary-scan.ts) in C: same arguments, same bits; undefined without the addon. */
export const markCandidatesNative = mark && ((buf: Uint8Array, from: number, to: number, d: number, bits: Uint32Array): void => mark(buf, from, to, d, bits, T_IN));
