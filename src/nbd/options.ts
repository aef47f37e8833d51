// Parsing of option payloads (the handshake's variable part). Pure functions over a Buffer so the
// fuzz test can hammer them; a malformed payload yields a reason, never an exception.
import { MAX_STRING } from './protocol.ts';

export interface InfoRequest {
  name: string;
  /** NBD_INFO_* item types the client asked for (may repeat or be unknown: ignored then). */
  items: number[];
}

/** NBD_OPT_INFO / NBD_OPT_GO data: u32 name length, name, u16 count, count × u16 item type. */
export function parseInfoRequest(data: Buffer): InfoRequest | { error: string } {
  if (data.length < 6) return { error: `INFO/GO data of ${data.length} bytes is shorter than 6` };
  const nameLen = data.readUInt32BE(0);
  if (nameLen > MAX_STRING) return { error: `export name of ${nameLen} bytes exceeds ${MAX_STRING}` };
  if (4 + nameLen + 2 > data.length) return { error: 'export name runs past the option data' };
  const count = data.readUInt16BE(4 + nameLen);
  if (4 + nameLen + 2 + 2 * count !== data.length) {
    return { error: `${count} information requests do not fit the ${data.length}-byte option` };
  }
  const name = decodeName(data.subarray(4, 4 + nameLen));
  if (name === undefined) return { error: 'export name is not valid UTF-8 or contains NUL' };
  const items: number[] = [];
  for (let i = 0; i < count; i++) items.push(data.readUInt16BE(4 + nameLen + 2 + 2 * i));
  return { name, items };
}

/** NBD_OPT_EXPORT_NAME data is the bare name. */
export function parseExportName(data: Buffer): string | undefined {
  if (data.length > MAX_STRING) return undefined;
  return decodeName(data);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeName(b: Buffer): string | undefined {
  if (b.includes(0)) return undefined;
  try {
    return utf8.decode(b);
  } catch {
    return undefined;
  }
}
