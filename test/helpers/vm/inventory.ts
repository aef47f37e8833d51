// The inventory the VM cases apply: one branch "lab" on the test bridge's subnet, whose
// servers are all this branchboot, plus the images and machines of the case.
export interface LabOptions {
  serverIp?: string;
  dhcp: 'authoritative' | 'proxy';
  images: { name: string; flavor: string; transport: string }[];
  machines: { mac: string; hostname: string; image: string; transport?: string }[];
  defaultImage?: string;
}

export function labInventory(o: LabOptions): unknown {
  const ip = o.serverIp ?? '10.88.0.1';
  const net = ip.split('.').slice(0, 3).join('.');
  const subnet: Record<string, unknown> = { cidr: `${net}.0/24`, dhcp: o.dhcp, gateway: ip, dns: [ip] };
  // In proxy mode the addresses come from the other DHCP server; branchboot only adds the boot answer.
  if (o.dhcp === 'authoritative') subnet.range = `${net}.100-${net}.199`;
  return {
    branches: [{
      name: 'lab',
      subnets: [subnet],
      servers: { http: `http://${ip}:8080`, tftp: ip, nbd: `${ip}:10809` },
      defaultImage: o.defaultImage ?? o.images[0]!.name,
    }],
    images: o.images,
    machines: o.machines.map((m) => ({ branch: 'lab', action: 'image', ...m })),
  };
}
