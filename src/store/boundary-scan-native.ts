// markCandidates from native/scan.c (built by `npm install` through binding.gyp), or undefined
// when the addon is not built: the chunk workers then use the WebAssembly scan.
import { createRequire } from 'node:module';
import { T_IN } from './boundary-scan.ts';

type Mark = (buf: Uint8Array, from: number, to: number, d: number, bits: Uint32Array, table: Int32Array) => void;

function load(): Mark | undefined {
  try {
    // BRANCHBOOT_SCAN_ADDON: another build of the same source (the AddressSanitizer test's).
    const file = process.env.BRANCHBOOT_SCAN_ADDON ?? '../../build/Release/branchboot_scan.node';
    return (createRequire(import.meta.url)(file) as { markCandidates: Mark }).markCandidates;
  } catch {
    return undefined;
  }
}
const mark = load();

/** markCandidates (boundary-scan.ts) in C: same arguments, same bits; undefined without the addon. */
export const markCandidatesNative = mark && ((buf: Uint8Array, from: number, to: number, d: number, bits: Uint32Array): void => mark(buf, from, to, d, bits, T_IN));
