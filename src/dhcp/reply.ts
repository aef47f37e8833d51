// Builds the reply packets: address answers (OFFER/ACK), NAK, INFORM's ACK and the proxyDHCP
// answers that carry only boot information. Option order follows what PXE ROMs parse best:
// message type and server id first, relay information last (RFC 3046 §2.1).
import type { FirstFile } from '../boot/types.ts';
import { ipv4ToString, parseIpv4 } from '../util/net.ts';
import { BOOTREPLY, FLAG_BROADCAST, IPXE_NO_PXEDHCP, MessageType, Opt } from './constants.ts';
import type { ClientFacts } from './client.ts';
import { ipBytes, readMaxMessageSize, subOptionBytes, u32Bytes } from './options.ts';
import { encodePacket, type DhcpPacket } from './packet.ts';
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
// encodePacket only reads these buffers.
const scopeOptions = new WeakMap<Scope, Array<[number, Buffer]>>();
const small = new Map<string, Buffer>();

function subnetOptions(s: Scope): Array<[number, Buffer]> {
  let o = scopeOptions.get(s);
  if (!o) {
    o = [[Opt.SubnetMask, ipBytes(s.cidr.mask)]];
    if (s.gateway !== undefined) o.push([Opt.Router, ipBytes(s.gateway)]);
    if (s.dns.length > 0) o.push([Opt.DnsServers, ipBytes(...s.dns)]);
    if (s.domain) o.push([Opt.DomainName, Buffer.from(s.domain, 'latin1')]);
    o.push([Opt.BroadcastAddress, ipBytes(s.cidr.broadcast)]);
    scopeOptions.set(s, o);
  }
  return o;
}

function cached(key: string, make: () => Buffer): Buffer {
  let b = small.get(key);
  if (!b) {
    if (small.size > 4096) small.clear();
    b = make();
    small.set(key, b);
  }
  return b;
}

export function buildReply(req: DhcpPacket, facts: ClientFacts, spec: ReplySpec): Buffer | undefined {
  const opts: Array<[number, Buffer]> = [
    [Opt.MessageType, cached(`t${spec.type}`, () => Buffer.from([spec.type]))],
    [Opt.ServerId, cached(`s${spec.serverId}`, () => ipBytes(spec.serverId))],
  ];
  const nak = spec.type === MessageType.Nak;
  if (spec.leaseSeconds !== undefined && !nak) {
    const t = spec.leaseSeconds;
    opts.push(
      [Opt.LeaseTime, cached(`l${t}`, () => u32Bytes(t))],
      [Opt.RenewalTime, cached(`r${t}`, () => u32Bytes(t * 0.5))],
      [Opt.RebindingTime, cached(`b${t}`, () => u32Bytes(t * 0.875))],
    );
  }
  const s = spec.scope;
  if (s && !nak && !spec.proxy) opts.push(...subnetOptions(s));
  let siaddr = 0;
  let file: string | undefined;
  if (spec.boot && !nak) {
    const bf = spec.boot.file;
    const isUrl = /^[a-z]+:\/\//i.test(bf.bootfile);
    // Firmware checks that the answer's class matches its own before it trusts the boot fields.
    opts.push([Opt.VendorClass, Buffer.from(bf.httpClient || facts.httpBoot ? 'HTTPClient' : 'PXEClient')]);
    // An empty bootfile means the planner has nothing this firmware can run: name no file and
    // no server rather than an empty name, which some ROMs try to fetch and then stall on.
    if (bf.bootfile !== '') {
      const tftp = bf.tftpServer !== undefined ? parseIpv4(bf.tftpServer) : undefined;
      siaddr = tftp ?? spec.boot.nextServer;
      if (!isUrl) opts.push([Opt.TftpServerName, Buffer.from(bf.tftpServer ?? ipv4ToString(siaddr))]);
      opts.push([Opt.BootfileName, Buffer.from(bf.bootfile, 'latin1')]);
      if (bf.bootfile.length <= 127) file = bf.bootfile;
    }
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
