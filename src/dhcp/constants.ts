// DHCP numbers with the reason they exist. RFC 2131 (protocol), RFC 2132 (options),
// RFC 4578 (PXE options 93/94/97), RFC 3046 (relay agent option 82), RFC 3004 (user class).

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
/** RFC 2131 §3: the first four octets of the options field. */
export const MAGIC_COOKIE = 0x63825363;
/** op..file: the fixed BOOTP header, RFC 2131 §2 figure 1. */
export const HEADER_LEN = 236;
/** Header + cookie: anything shorter is not DHCP. */
export const MIN_PACKET_LEN = HEADER_LEN + 4;
/** RFC 2131 §2: every client must accept 576-byte IP datagrams = 548 bytes of DHCP. */
export const MIN_MAX_MESSAGE = 576;
/** RFC 2131 §2: top bit of flags asks for a broadcast reply (client cannot take unicast before it has an address). */
export const FLAG_BROADCAST = 0x8000;

export const enum MessageType {
  Discover = 1, Offer = 2, Request = 3, Decline = 4, Ack = 5, Nak = 6, Release = 7, Inform = 8,
}

export const MESSAGE_NAMES: Record<number, string> = {
  1: 'DISCOVER', 2: 'OFFER', 3: 'REQUEST', 4: 'DECLINE', 5: 'ACK', 6: 'NAK', 7: 'RELEASE', 8: 'INFORM',
};

export const enum Opt {
  Pad = 0,
  SubnetMask = 1,
  Router = 3,
  DnsServers = 6,
  Hostname = 12,
  DomainName = 15,
  BroadcastAddress = 28,
  VendorSpecific = 43,     // PXE: encapsulated boot-server discovery control
  RequestedIp = 50,
  LeaseTime = 51,
  Overload = 52,           // RFC 2132 §9.3: options continue in file/sname
  MessageType = 53,
  ServerId = 54,
  ParamRequestList = 55,
  Message = 56,
  MaxMessageSize = 57,
  RenewalTime = 58,
  RebindingTime = 59,
  VendorClass = 60,        // "PXEClient:Arch:…" or "HTTPClient:Arch:…"
  ClientId = 61,
  TftpServerName = 66,
  BootfileName = 67,
  UserClass = 77,          // iPXE sends raw "iPXE"; RFC 3004 form has length-prefixed entries
  RelayAgentInfo = 82,
  ClientArch = 93,         // RFC 4578 §2.1
  ClientNdi = 94,
  ClientUuid = 97,         // RFC 4578 §2.3: type 0 + 16 bytes
  IpxeEncap = 175,         // iPXE's encapsulated options (feature flags, 176 no-pxedhcp)
  End = 255,
}

/** iPXE sub-option 176 ("no-pxedhcp"): with 1, iPXE skips its ~3 s wait for extra proxyDHCP offers. */
export const IPXE_NO_PXEDHCP = 176;
