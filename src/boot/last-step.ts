// Which step of a boot is the last one this server sees? A "once" boot is used up on it
// (fetch-events.ts, planner.ts). A branch with its own mirror (server_http) and its own NBD
// server, or a share, serves everything after the script itself: nothing else would ever
// reach us, and the machine would boot its image again on every start.
import type { Transport } from '../db/schema.ts';
import type { Endpoints } from './endpoints.ts';

export type LastSeen = 'root' | 'initrd' | 'script';

export function lastStepSeen(ep: Pick<Endpoints, 'httpBase' | 'selfBase' | 'nbd' | 'selfNbd'>, transport: Transport): LastSeen {
  const bytesFromUs = ep.httpBase === ep.selfBase;
  switch (transport) {
    case 'http': case 'http-lazy': return bytesFromUs ? 'root' : 'script';
    case 'nbd':
      if (ep.nbd.host === ep.selfNbd.host && ep.nbd.port === ep.selfNbd.port) return 'root';
      return bytesFromUs ? 'initrd' : 'script';
    case 'nfs': case 'cifs': return bytesFromUs ? 'initrd' : 'script';
  }
}
