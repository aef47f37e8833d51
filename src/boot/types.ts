// The seam between protocols and policy: a protocol describes the client it sees, the planner
// answers with what that client boots. Protocols never read machines or images themselves.
import type { BootAction, Transport, Flavor } from '../db/schema.ts';
import type { TargetLookups } from './resolve.ts';
import type { Registration } from '../model/boot-queries.ts';

/** Firmware families, derived from option 93 (RFC 4578 / IANA "Processor Architecture Types"). */
export type Firmware = 'bios' | 'uefi-ia32' | 'uefi-x64' | 'uefi-arm32' | 'uefi-arm64' | 'uefi-x64-http' | 'uefi-arm64-http' | 'unknown';

export interface BootClient {
  mac: string;                   // aa:bb:cc:dd:ee:ff
  arch?: number | undefined;     // option 93
  /** iPXE is already running (user class "iPXE" or option 175 present): hand it its script. */
  ipxe?: boolean | undefined;
  /** UEFI HTTP Boot (vendor class starts "HTTPClient"): answer with a full URL. */
  httpBoot?: boolean | undefined;
  uuid?: string | undefined;
  branchId?: number | undefined;
  /** The address the client reached us on / the relay, for choosing server URLs. */
  serverAddress?: string | undefined;
  clientIp?: string | undefined;
  /** A preview (CLI `plan`, REST boot-plan): no boot events are recorded. */
  preview?: boolean | undefined;
}

/** The first file a DHCP answer names, per firmware. */
export interface FirstFile {
  /** TFTP file name, or a full http:// URL for HTTP Boot and for iPXE. */
  bootfile: string;
  /** next-server (siaddr) / option 66. */
  tftpServer?: string | undefined;
  /** Set option 60 "HTTPClient" in the answer (UEFI HTTP Boot). */
  httpClient?: boolean;
  /**
   * Set when there is nothing this firmware can run (an architecture we have no binary for):
   * bootfile is then "" and the DHCP answer should carry no boot file. Why, for the log.
   */
  unsupported?: string | undefined;
}

export interface RootPlan {
  transport: Transport;
  /** URL or address the initramfs fetches the root from. */
  location: string;
}

export type BootPlan = PlanContext & (
  | {
      kind: 'image';
      action: BootAction;
      firstFile: FirstFile;
      image: { name: string; version: number; flavor: Flavor };
      kernelUrl: string;
      initrdUrl: string;
      cmdline: string;
      root: RootPlan;
      /** The rendered iPXE script. */
      script: string;
    }
  | { kind: 'local'; action: BootAction; firstFile: FirstFile; script: string }
  | { kind: 'menu'; action: BootAction; firstFile: FirstFile; script: string }
  | { kind: 'error'; firstFile: FirstFile; reason: string; script: string });

/** What every plan also says, for boot events and previews (optional: older callers ignore it). */
export interface PlanContext {
  branchId?: number | undefined;
  firmware?: Firmware | undefined;
}

export interface BootPlanner {
  /** First file for a DHCP answer; cheap, called per packet. `lookups`: where the client's rows come from (default: the database). */
  firstFile(client: BootClient, lookups?: TargetLookups<Registration>): Promise<FirstFile>;
  /** The full plan (script, kernel, command line) for a client. Never throws: errors are plans. */
  plan(client: BootClient): Promise<BootPlan>;
  /** A generated file a TFTP client asks for (pxelinux.cfg/01-…, grub.cfg-01-…, boot.ipxe), or undefined. */
  generatedFile(name: string, client: GeneratedFileClient): Promise<Buffer | undefined>;
}

export interface GeneratedFileClient {
  ip: string;
  mac?: string | undefined;
  /** The address the TFTP request reached, for URLs in the file when http.publicUrl is unset. */
  serverAddress?: string | undefined;
}
