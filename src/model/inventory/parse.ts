// Reads an inventory file into the canonical shape. Every mistake is one line naming the file,
// the line and the path of the bad value (branches[0].subnets[1].range: …).
import { Ajv, type ErrorObject } from 'ajv';
import YAML, { LineCounter, isNode } from 'yaml';
import { UserError } from '../../util/errors.ts';
import { HOSTNAME_RE, cidrContains, isIpv4, normalizeMac, parseCidr, parseIpv4, parseRange } from '../../util/net.ts';
import { InventorySpec, type BranchSpec, type ImageSpec, type MachineSpec, type SubnetSpec } from './schema.ts';
import { findSubnetOverlap, reservationProblem } from './layout.ts';
import { DEFAULT_LEASE_SECONDS, DEFAULT_MENU_TIMEOUT, parseImageRef, type NBranch, type NImage, type NInventory, type NMachine, type NSubnet } from './normal.ts';

const ajv = new Ajv({ allErrors: false, strict: false });
const validate = ajv.compile(InventorySpec);

type PathPart = string | number;

export function parseInventory(text: string, fileName = 'inventory'): NInventory {
  const lc = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const lineOf = (path: PathPart[]): string => {
    let node: unknown = doc.getIn(path, true);
    for (let p = path.slice(); !isNode(node) && p.length; p = p.slice(0, -1)) node = doc.getIn(p.slice(0, -1), true);
    const offset = isNode(node) && node.range ? node.range[0] : undefined;
    return offset === undefined ? fileName : `${fileName}:${lc.linePos(offset).line}`;
  };
  const where = (path: PathPart[]): string => `${lineOf(path)}: ${formatPath(path)}`;
  const fail = (path: PathPart[], why: string): never => { throw new UserError(`${where(path)}: ${why}`); };

  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new UserError(`${fileName}:${lc.linePos(e.pos[0]).line}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  if (!validate(raw)) {
    const e = validate.errors![0]!;
    const path = e.instancePath.split('/').slice(1).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    fail(path, describe(e));
  }
  const spec = raw as InventorySpec;
  const branchNames = new Set<string>();
  const branches = (spec.branches ?? []).map((b, i) => {
    if (branchNames.has(b.name)) fail(['branches', i, 'name'], `branch "${b.name}" is named twice`);
    branchNames.add(b.name);
    return normalizeBranch(b, ['branches', i], fail);
  });
  const overlap = findSubnetOverlap(branches);
  if (overlap) fail(['branches', overlap.branch, 'subnets', overlap.subnet, 'cidr'], overlap.why);
  const imageNames = new Set<string>();
  const images = (spec.images ?? []).map((im, i) => {
    if (imageNames.has(im.name)) fail(['images', i, 'name'], `image "${im.name}" is named twice`);
    imageNames.add(im.name);
    return normalizeImage(im);
  });
  const macs = new Set<string>();
  const ips = new Set<string>();
  const machines = (spec.machines ?? []).map((m, i) => {
    const n = normalizeMachine(m, ['machines', i], fail);
    if (macs.has(n.mac)) fail(['machines', i, 'mac'], `MAC ${n.mac} is listed twice`);
    macs.add(n.mac);
    if (n.ip) {
      if (ips.has(n.ip)) fail(['machines', i, 'ip'], `${n.ip} is reserved for two machines`);
      ips.add(n.ip);
      const branch = branches.find((b) => b.name === n.branch);
      const why = branch && reservationProblem(n.ip, branch);
      if (why) fail(['machines', i, 'ip'], why);
    }
    return n;
  });
  // Branches named by machines must exist in the file or in the database; apply checks the
  // latter, and the layout of the result (subnets of branches the file leaves alone).
  // Hostnames too are checked by apply, against the machines the file leaves alone as well.
  return { branches, images, machines, locate: where };
}

function normalizeBranch(b: BranchSpec, at: PathPart[], fail: (p: PathPart[], why: string) => never): NBranch {
  if (b.defaultImage && !parseImageRef(b.defaultImage)) fail([...at, 'defaultImage'], `"${b.defaultImage}" is not NAME or NAME@VERSION`);
  const subnets = (b.subnets ?? []).map((s, j) => normalizeSubnet(s, [...at, 'subnets', j], fail));
  const s = b.servers ?? {};
  return {
    name: b.name,
    description: b.description ?? '',
    subnets,
    servers: { http: s.http ?? null, tftp: s.tftp ?? null, nbd: s.nbd ?? null, nfs: s.nfs ?? null, cifs: s.cifs ?? null },
    defaultImage: b.defaultImage ?? null,
    defaultAction: b.defaultAction ?? 'image',
    transport: b.transport ?? null,
    kernelArgs: b.kernelArgs ?? '',
    menuImages: b.menu?.images ?? [],
    menuTimeout: b.menu?.timeout ?? DEFAULT_MENU_TIMEOUT,
  };
}

function normalizeSubnet(s: SubnetSpec, at: PathPart[], fail: (p: PathPart[], why: string) => never): NSubnet {
  const cidr = parseCidr(s.cidr) ?? fail([...at, 'cidr'], `"${s.cidr}" is not a network in CIDR form (like 10.20.0.0/24)`);
  if (s.range !== undefined && s.ranges !== undefined) fail([...at, 'range'], 'give either range or ranges, not both');
  const rawRanges = s.ranges ?? (s.range !== undefined ? [s.range] : []);
  const ranges = rawRanges.map((r, k) => {
    const path = s.ranges ? [...at, 'ranges', k] : [...at, 'range'];
    const rg = parseRange(r) ?? fail(path, `"${r}" is not FIRST-LAST (like 10.20.0.100-10.20.0.200)`);
    if (!cidrContains(cidr, rg[0]) || !cidrContains(cidr, rg[1])) fail(path, `${r} is not inside ${cidr.text}`);
    if (rg[0] === cidr.network || rg[1] === cidr.broadcast) fail(path, `${r} includes the network or broadcast address of ${cidr.text}`);
    return r.replace(/\s+/g, '');
  });
  const exclusions = (s.exclude ?? []).map((r, k) => {
    if (!parseRange(r)) fail([...at, 'exclude', k], `"${r}" is not an address or FIRST-LAST`);
    return r.replace(/\s+/g, '');
  });
  if (s.gateway !== undefined) {
    const gw = parseIpv4(s.gateway) ?? fail([...at, 'gateway'], `"${s.gateway}" is not an IPv4 address`);
    if (!cidrContains(cidr, gw)) fail([...at, 'gateway'], `${s.gateway} is not inside ${cidr.text}`);
  }
  (s.dns ?? []).forEach((d, k) => { if (!isIpv4(d)) fail([...at, 'dns', k], `"${d}" is not an IPv4 address`); });
  const dhcp = s.dhcp ?? 'off';
  if (dhcp === 'authoritative' && ranges.length === 0) fail([...at, 'dhcp'], 'authoritative DHCP needs a range to hand out');
  return {
    cidr: cidr.text, dhcp, ranges, exclusions,
    gateway: s.gateway ?? null, dns: s.dns ?? [], domain: s.domain ?? null,
    leaseSeconds: s.leaseTime ?? DEFAULT_LEASE_SECONDS,
  };
}

function normalizeImage(im: ImageSpec): NImage {
  return {
    name: im.name, description: im.description ?? '', flavor: im.flavor ?? 'custom',
    transport: im.transport ?? null, kernelArgs: im.kernelArgs ?? '', current: im.current ?? null,
  };
}

function normalizeMachine(m: MachineSpec, at: PathPart[], fail: (p: PathPart[], why: string) => never): NMachine {
  const mac = normalizeMac(m.mac) ?? fail([...at, 'mac'], `"${m.mac}" is not a MAC address`);
  if (m.ip !== undefined && !isIpv4(m.ip)) fail([...at, 'ip'], `"${m.ip}" is not an IPv4 address`);
  if (m.hostname !== undefined && !HOSTNAME_RE.test(m.hostname)) fail([...at, 'hostname'], `"${m.hostname}" is not a hostname (letters, digits and -, up to 63 between dots)`);
  const ref = m.image === undefined ? undefined : parseImageRef(m.image) ?? fail([...at, 'image'], `"${m.image}" is not NAME or NAME@VERSION`);
  return {
    mac, hostname: m.hostname ?? null, branch: m.branch, ip: m.ip ?? null,
    image: ref?.name ?? null, version: ref?.version ?? null,
    action: m.action ?? null, transport: m.transport ?? null, kernelArgs: m.kernelArgs ?? '',
  };
}

export function formatPath(path: PathPart[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(top level)';
}

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'additionalProperties': return `unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    case 'required': return `missing key "${(e.params as { missingProperty: string }).missingProperty}"`;
    case 'enum': return `must be one of ${(e.params as { allowedValues: string[] }).allowedValues.join(', ')}`;
    case 'pattern': return `has an invalid format`;
    default: return e.message ?? 'invalid';
  }
}
