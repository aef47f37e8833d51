// Builds the reply packets: address answers (OFFER/ACK), NAK, INFORM's ACK and the proxyDHCP
// answers that carry only boot information. Option order follows what PXE ROMs parse best:
// message type and server id first, relay information last (RFC 3046 §2.1).
import type { FirstFile } from '../boot/types.ts';
import { ipv4ToString, parseIpv4 } from '../util/net.ts';
import { BOOTREPLY, FLAG_BROADCAST, IPXE_NO_PXEDHCP, MessageType, Opt } from './constants.ts';
import type { ClientFacts } from './client.ts';
import { ipBytes, readMaxMessageSize, subOptionBytes, u32Bytes } from './options.ts';
import { encodePacket, type DhcpPacket } from './packet.ts';
import { once } from './memo-map.ts';
import type { Scope } from './scopes.ts';

export interface BootInfo {
  file: FirstFile;
  /** next-server when the planner names none: the branch's TFTP server, else us. */
  nextServer: number;
}

export interface ReplySpec {
  type: MessageType;
  serverId: number;
  yiaddr?: number;
  scope?: Scope | undefined;
  /** Lease time for OFFER/ACK of an address; absent for INFORM and proxy answers. */
  leaseSeconds?: number | undefined;
  boot?: BootInfo | undefined;
  /** Proxy answers carry the PXE vendor options (43) telling the ROM not to run boot server discovery. */
  proxy?: boolean;
  message?: string;
}

// The options that are the same in every answer of a subnet (or for one lease time, message
// type, server address) are built once: a boot storm answers thousands of clients a second.
// For a plain OFFER or ACK the whole list is shared (keyed by message type and server address
// per subnet): the reply allocates only its packet. encodePacket only reads these buffers.
type OptionList = Array<[number, Buffer]>;
const scopeOptions = new WeakMap<Scope, { subnet: OptionList; heads: Map<number, OptionList> }>();
const typeBytes = new Map<number, Buffer>();
const serverIdBytes = new Map<number, Buffer>();
const leaseBytes = new Map<number, OptionList>();

function forScope(s: Scope): { subnet: OptionList; heads: Map<number, OptionList> } {
  let c = scopeOptions.get(s);
  if (!c) {
    const o: OptionList = [[Opt.SubnetMask, ipBytes(s.cidr.mask)]];
    if (s.gateway !== undefined) o.push([Opt.Router, ipBytes(s.gateway)]);
    if (s.dns.length > 0) o.push([Opt.DnsServers, ipBytes(...s.dns)]);
    if (s.domain) o.push([Opt.DomainName, Buffer.from(s.domain, 'latin1')]);
    o.push([Opt.BroadcastAddress, ipBytes(s.cidr.broadcast)]);
    c = { subnet: o, heads: new Map() };
    scopeOptions.set(s, c);
  }
  return c;
}

const typeByte = (t: number) => Buffer.from([t]);
const serverIdByte = (id: number) => ipBytes(id);

const leaseList = (t: number): OptionList =>
  [[Opt.LeaseTime, u32Bytes(t)], [Opt.RenewalTime, u32Bytes(t * 0.5)], [Opt.RebindingTime, u32Bytes(t * 0.875)]];

/** Message type, server id, lease times (when given) and the subnet's options (when given), in that order. */
function headOptions(type: number, serverId: number, leaseSeconds: number | undefined, s: Scope | undefined): OptionList {
  const o: OptionList = [
    [Opt.MessageType, once(typeBytes, type, typeByte)],
    [Opt.ServerId, once(serverIdBytes, serverId, serverIdByte)],
  ];
  if (leaseSeconds !== undefined) o.push(...once(leaseBytes, leaseSeconds, leaseList));
  if (s) o.push(...forScope(s).subnet);
  return o;
}

/** headOptions of an OFFER or ACK in a subnet with its own lease time: built once per server address and type. Shared: never modified. */
function sharedHead(type: number, serverId: number, s: Scope): OptionList {
  // Written out rather than through once(): that would build a closure for every reply.
  const { heads } = forScope(s);
  const key = serverId * 16 + type;
  let o = heads.get(key);
  if (!o) {
    if (heads.size > 1024) heads.clear();
    o = headOptions(type, serverId, s.leaseSeconds, s);
    heads.set(key, o);
  }
  return o;
}

const PXE_CLIENT = Buffer.from('PXEClient');
const HTTP_CLIENT = Buffer.from('HTTPClient');

interface BootFields {
  siaddr: number;
  /** The bootfile also in the header's file field (when it fits there). */
  file: string | undefined;
  /** Options 66 and 67. */
  options: OptionList;
}

// A storm's PXE ROMs are all told one of a few TFTP names (undionly.kpxe, snponly.efi): their
// options are built once per name and server, not per packet. URLs (iPXE's per-machine scripts)
// differ per client and are built each time.
const tftpBootFields = new Map<string, BootFields & { tftpServer: string | undefined; nextServer: number }>();

function bootFields(boot: BootInfo): BootFields {
  const bf = boot.file;
  const kept = tftpBootFields.get(bf.bootfile);
  if (kept !== undefined && kept.tftpServer === bf.tftpServer && kept.nextServer === boot.nextServer) return kept;
  // An empty bootfile means the planner has nothing this firmware can run: name no file and
  // no server rather than an empty name, which some ROMs try to fetch and then stall on.
  if (bf.bootfile === '') return { siaddr: 0, file: undefined, options: [] };
  const isUrl = /^[a-z]+:\/\//i.test(bf.bootfile);
  const siaddr = (bf.tftpServer !== undefined ? parseIpv4(bf.tftpServer) : undefined) ?? boot.nextServer;
  const options: OptionList = [];
  if (!isUrl) options.push([Opt.TftpServerName, Buffer.from(bf.tftpServer ?? ipv4ToString(siaddr))]);
  options.push([Opt.BootfileName, Buffer.from(bf.bootfile, 'latin1')]);
  const made = { siaddr, file: bf.bootfile.length <= 127 ? bf.bootfile : undefined, options };
  if (!isUrl) {
    if (tftpBootFields.size > 256) tftpBootFields.clear();
    tftpBootFields.set(bf.bootfile, { ...made, tftpServer: bf.tftpServer, nextServer: boot.nextServer });
  }
  return made;
}

export function buildReply(req: DhcpPacket, facts: ClientFacts, spec: ReplySpec): Buffer | undefined {
  const nak = spec.type === MessageType.Nak;
  const s = spec.scope;
  const lease = nak ? undefined : spec.leaseSeconds;
  const withSubnet = s && !nak && !spec.proxy ? s : undefined;
  const plain = withSubnet !== undefined && lease === withSubnet.leaseSeconds;
  const head = plain ? sharedHead(spec.type, spec.serverId, withSubnet) : headOptions(spec.type, spec.serverId, lease, withSubnet);
  const extra = (spec.boot && !nak) || (nak && spec.message) || facts.relay;
  const opts = plain && extra ? head.slice() : head;
  let siaddr = 0;
  let file: string | undefined;
  if (spec.boot && !nak) {
    // Firmware checks that the answer's class matches its own before it trusts the boot fields.
    opts.push([Opt.VendorClass, spec.boot.file.httpClient || facts.httpBoot ? HTTP_CLIENT : PXE_CLIENT]);
    const b = bootFields(spec.boot);
    siaddr = b.siaddr;
    file = b.file;
    for (const o of b.options) opts.push(o);
    // PXE spec 2.1 §2.2.5: proxy offers must echo the client's UUID; harmless elsewhere.
    const uuid = req.options.get(Opt.ClientUuid);
    if (uuid && uuid.length === 17) opts.push([Opt.ClientUuid, uuid]);
    // PXE_DISCOVERY_CONTROL = 8: use the boot file in this packet, skip boot server discovery.
    if (spec.proxy && facts.pxe && !facts.httpBoot) opts.push([Opt.VendorSpecific, Buffer.concat([subOptionBytes([[6, Buffer.from([8])]]), Buffer.from([255])])]);
    if (facts.ipxe) opts.push([Opt.IpxeEncap, subOptionBytes([[IPXE_NO_PXEDHCP, Buffer.from([1])]])]);
  }
  if (nak && spec.message) opts.push([Opt.Message, Buffer.from(spec.message.slice(0, 200), 'latin1')]);
  if (facts.relay) opts.push([Opt.RelayAgentInfo, facts.relay.raw]);
  const ack = spec.type === MessageType.Ack;
  return encodePacket({
    op: BOOTREPLY, htype: req.htype, hlen: req.hlen, xid: req.xid,
    // RFC 2131 §4.3.2: a relayed NAK sets the broadcast bit so the relay broadcasts it.
    flags: nak && req.giaddr !== 0 ? req.flags | FLAG_BROADCAST : req.flags,
    ciaddr: ack ? req.ciaddr : 0,
    yiaddr: nak ? 0 : spec.yiaddr ?? 0,
    siaddr: nak ? 0 : siaddr,
    giaddr: req.giaddr,
    chaddr: req.chaddr,
    ...(file !== undefined && { file }),
    options: opts,
  }, (readMaxMessageSize(req.options) ?? 576) - 28);
}
