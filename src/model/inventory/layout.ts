// Where subnets and fixed addresses may sit. DHCP picks a client's subnet by the address its
// packet came through (giaddr or the interface), first match: two subnets that overlap would
// make that choice depend on row order, and a reservation outside every subnet of its
// machine's branch is never handed out (the machine silently gets a pool address instead).
// One check for the inventory file, apply's result and the API's writes.
import { cidrContains, cidrsOverlap, parseCidr, parseIpv4, type Cidr } from '../../util/net.ts';

export interface LayoutBranch { name: string; subnets: ReadonlyArray<{ cidr: string }> }

export interface SubnetOverlap { branch: number; subnet: number; other: { branch: number; subnet: number }; why: string }

/** The first subnet that overlaps an earlier one (in branch order, then subnet order). */
export function findSubnetOverlap(branches: readonly LayoutBranch[]): SubnetOverlap | undefined {
  const seen: Array<{ cidr: Cidr; branch: number; subnet: number }> = [];
  for (const [bi, b] of branches.entries()) {
    for (const [si, s] of b.subnets.entries()) {
      const cidr = parseCidr(s.cidr);
      if (!cidr) continue;
      const prev = seen.find((x) => cidrsOverlap(x.cidr, cidr));
      if (prev) {
        const owner = prev.branch === bi ? 'this branch' : `branch ${branches[prev.branch]!.name}`;
        const why = prev.cidr.text === cidr.text ? `${cidr.text} is already a subnet of ${owner}` : `${cidr.text} overlaps ${prev.cidr.text} of ${owner}`;
        return { branch: bi, subnet: si, other: { branch: prev.branch, subnet: prev.subnet }, why };
      }
      seen.push({ cidr, branch: bi, subnet: si });
    }
  }
  return undefined;
}

/** Why `ip` cannot be a fixed address in `branch`, or undefined when it can. */
export function reservationProblem(ip: string, branch: LayoutBranch): string | undefined {
  const n = parseIpv4(ip);
  if (n === undefined) return `"${ip}" is not an IPv4 address`;
  const cidrs = branch.subnets.map((s) => parseCidr(s.cidr)).filter((c): c is Cidr => c !== undefined);
  const home = cidrs.find((c) => cidrContains(c, n));
  if (!home) {
    const list = cidrs.length ? cidrs.map((c) => c.text).join(', ') : 'none';
    return `${ip} is not inside a subnet of branch ${branch.name} (its subnets: ${list})`;
  }
  if (home.prefix < 31 && (n === home.network || n === home.broadcast)) {
    return `${ip} is the ${n === home.network ? 'network' : 'broadcast'} address of ${home.text}`;
  }
  return undefined;
}
