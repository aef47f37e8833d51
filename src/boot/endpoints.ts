// Which server a client fetches each thing from. Image bytes come from the branch's own
// servers when it has them (its desktops never cross the uplink for what the branch has);
// the per-machine script always comes from this server, which alone knows the plan.
import type { Config } from '../config.ts';
import type { Branch } from '../db/schema.ts';
import type { RootEndpoints } from './cmdline.ts';

export interface Endpoints extends RootEndpoints {
  /** This server's base URL as the client can reach it (scripts, EFI binaries for HTTP Boot). */
  selfBase: string;
  /** next-server for TFTP, if known. */
  tftpServer?: string | undefined;
  /** This server's NBD address as the client reaches it (whatever the branch's server_nbd says). */
  selfNbd: { host: string; port: number };
  /** next-server is the branch's own TFTP server (server_tftp), not this one. */
  tftpServerIsBranch?: boolean | undefined;
}

type Cfg = Pick<Config, 'http' | 'nbd' | 'boot'>;

const trimSlash = (s: string) => s.replace(/\/+$/, '');

/** "host:port", "host" → parts; "[v6]:port" is not a lab reality here. */
function hostPort(s: string, defPort: number): { host: string; port: number } {
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(s.trim());
  const port = m?.[2] ? Number(m[2]) : defPort;
  return { host: m?.[1] || s, port: port > 0 && port < 65536 ? port : defPort };
}

/** "host:/export" (NFS) */
function nfsSpec(s: string): { host: string; path: string } | undefined {
  const i = s.indexOf(':/');
  return i > 0 ? { host: s.slice(0, i), path: s.slice(i + 1) } : undefined;
}

/** "//host/share[/sub]" (CIFS UNC with forward slashes, as mount.cifs takes it) */
function cifsSpec(s: string): { host: string; share: string } | undefined {
  const m = /^(?:\/\/|\\\\)([^/\\]+)[/\\](.+)$/.exec(s.trim());
  return m ? { host: m[1]!, share: m[2]!.replace(/\\/g, '/') } : undefined;
}

const usable = (a: string | undefined) => a !== undefined && a !== '' && a !== '0.0.0.0' && a !== '::';

/**
 * `serverAddress` is the address the client reached us on (DHCP: the interface or relay
 * path; HTTP: the socket's local address). Without it and without http.publicUrl, the
 * configured listen address is all we have.
 */
export function endpointsFor(config: Cfg, branch: Branch | undefined, serverAddress?: string): Endpoints {
  const reached = usable(serverAddress) ? serverAddress!.replace(/^::ffff:/, '') : undefined;
  const selfHost = reached ?? (config.http.publicUrl ? new URL(config.http.publicUrl).hostname : config.http.address);
  const selfBase = config.http.publicUrl ? trimSlash(config.http.publicUrl)
    : `http://${reached ?? config.http.address}:${config.http.port}`;
  const nfsOfBranch = branch?.server_nfs ? nfsSpec(branch.server_nfs) : undefined;
  const nfs = nfsOfBranch && { ...nfsOfBranch, branch: true };
  const cifs = branch?.server_cifs ? cifsSpec(branch.server_cifs) : undefined;
  const exportDir = config.boot.exportDir;
  const selfNbd = { host: selfHost, port: config.nbd.port };
  return {
    selfBase,
    selfNbd,
    httpBase: branch?.server_http ? trimSlash(branch.server_http) : selfBase,
    tftpServer: branch?.server_tftp ?? reached,
    tftpServerIsBranch: Boolean(branch?.server_tftp),
    nbd: branch?.server_nbd ? hostPort(branch.server_nbd, 10809) : selfNbd,
    // This server publishes into boot.exportDir; the system's NFS server exports it under
    // the same path, and Samba as the share "branchboot" (src/boot/README.md).
    nfs: nfs ?? (exportDir ? { host: selfHost, path: exportDir } : undefined),
    cifs: cifs ?? (exportDir ? { host: selfHost, share: 'branchboot' } : undefined),
  };
}
