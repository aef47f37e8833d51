// Where a reply goes: RFC 2131 §4.1, "If the 'giaddr' field … is not zero …".
import { MessageType } from './constants.ts';
import type { DhcpPacket } from './packet.ts';

export const BROADCAST = 0xffffffff;
export const CLIENT_PORT = 68;
export const SERVER_PORT = 67;

export interface Destination {
  address: number;
  port: number;
  broadcast: boolean;
}

export function replyDestination(req: DhcpPacket, type: MessageType, relayPort = SERVER_PORT): Destination {
  // Relayed: back to the relay agent's server port; it forwards to the client.
  if (req.giaddr !== 0) return { address: req.giaddr, port: relayPort, broadcast: false };
  // A NAK goes to everyone on the segment: the client may hold an address that is wrong here.
  if (type === MessageType.Nak) return { address: BROADCAST, port: CLIENT_PORT, broadcast: true };
  // The client has a working address (RENEW, INFORM): unicast to it.
  if (req.ciaddr !== 0) return { address: req.ciaddr, port: CLIENT_PORT, broadcast: false };
  // Broadcast flag set, or no address yet. Unicasting to yiaddr would need an ARP entry for a
  // host that does not answer ARP yet; Node cannot add one, and §4.1 allows broadcast instead.
  return { address: BROADCAST, port: CLIENT_PORT, broadcast: true };
}
