// RFC 2347 option negotiation: which of the client's options we accept and at what value.
// Options we do not know or cannot honour are left out of the OACK, which RFC 2347 §4 allows;
// the client then proceeds with the RFC 1350 defaults for them.
import {
  DEFAULT_BLKSIZE, MAX_BLKSIZE, MAX_TIMEOUT_S, MAX_WINDOWSIZE, MIN_BLKSIZE, MIN_TIMEOUT_S,
} from './constants.ts';

export interface NegotiationLimits {
  /** config tftp.maxBlksize. */
  maxBlksize: number;
  /**
   * MTU of the route to the client. A client that sizes its blocks to fit one frame (every PXE
   * ROM: 1468 = 1500 - 32) must not get blocks that the server's side fragments, because
   * several firmware stacks do not reassemble IP fragments. A client asking for more than a
   * frame's worth (curl, Linux tftp with 65464) asks for fragmentation on purpose.
   */
  pathMtu?: number | undefined;
  /**
   * Cap on the payload of one window. A burst of 16 x 64 KiB blocks is about 1.6 MiB of
   * reassembled fragments and overflows a Linux client's default 208 KiB receive buffer, so
   * large blocks get a small window rather than a window that loses its tail every time.
   */
  maxWindowBytes: number;
}

export interface Negotiated {
  blksize: number;
  windowsize: number;
  /** Retransmission timeout the client asked for (RFC 2349), in ms. */
  timeoutMs?: number | undefined;
  /** The options to send back in an OACK; empty = no OACK, start with DATA 1. */
  oack: { name: string; value: string }[];
}

/** Decimal digits only: "+5", " 5", "0x10", "5e3" are not numbers on the wire. */
function parseDecimal(value: string): number | undefined {
  if (!/^[0-9]{1,10}$/.test(value)) return undefined;
  return Number(value);
}

const ETHERNET_MTU = 1500;
const HEADERS = 20 + 8 + 4; // IPv4 + UDP + TFTP

export function negotiate(options: { name: string; value: string }[], size: number, limits: NegotiationLimits): Negotiated {
  const result: Negotiated = { blksize: DEFAULT_BLKSIZE, windowsize: 1, oack: [] };
  const seen = new Set<string>();
  for (const { name, value } of options) {
    const key = name.toLowerCase();
    // A repeated option is ambiguous; the first one wins and the rest are ignored.
    if (seen.has(key)) continue;
    seen.add(key);
    const n = parseDecimal(value);
    switch (key) {
      case 'blksize': {
        // RFC 2348: values below 8 are invalid; ignoring the option falls back to 512.
        if (n === undefined || n < MIN_BLKSIZE) break;
        let b = Math.min(n, MAX_BLKSIZE, limits.maxBlksize);
        if (limits.pathMtu !== undefined && n + HEADERS <= ETHERNET_MTU && b + HEADERS > limits.pathMtu) {
          b = Math.max(MIN_BLKSIZE, limits.pathMtu - HEADERS);
        }
        result.blksize = b;
        result.oack.push({ name, value: String(b) });
        break;
      }
      case 'tsize':
        // RFC 2349: in a read request the client sends 0 and the OACK carries the exact size.
        if (n === undefined) break;
        result.oack.push({ name, value: String(size) });
        break;
      case 'timeout':
        if (n === undefined || n < MIN_TIMEOUT_S || n > MAX_TIMEOUT_S) break;
        result.timeoutMs = n * 1000;
        result.oack.push({ name, value: String(n) });
        break;
      case 'windowsize':
        // RFC 7440: 1-65535; the server may answer with a smaller value.
        if (n === undefined || n < 1 || n > MAX_WINDOWSIZE) break;
        result.windowsize = n;
        result.oack.push({ name, value: '' });
        break;
      default:
        break;
    }
  }
  // The window depends on the final block size, whatever order the options came in.
  const w = result.oack.find((o) => o.name.toLowerCase() === 'windowsize');
  if (w) {
    const byBytes = Math.max(1, Math.floor(limits.maxWindowBytes / result.blksize));
    result.windowsize = Math.min(result.windowsize, byBytes);
    w.value = String(result.windowsize);
  }
  return result;
}
