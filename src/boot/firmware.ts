// Option 93 (RFC 4578 §2.1, IANA "Processor Architecture Types") → firmware family → the first
// file a DHCP answer names. Real lab PCs send 0, 7 (sometimes 9), 16; ARM thin clients 11/19.
import type { Firmware } from './types.ts';

const BY_ARCH: Record<number, Firmware> = {
  0: 'bios',
  6: 'uefi-ia32',
  7: 'uefi-x64',
  // 9 is "EFI x64" in RFC 4578's erratum; several firmwares (older Intel, VMware) send it for x64.
  9: 'uefi-x64',
  10: 'uefi-arm32',
  11: 'uefi-arm64',
  16: 'uefi-x64-http',
  19: 'uefi-arm64-http',
};

/**
 * Closest family for values we do not serve natively: better a boot file the client can run
 * than silence, and silence (unknown) when nothing fits. 15 is "x86 UEFI HTTP" (IA32):
 * answered like x64 HTTP Boot, whose binary most such machines (x64 CPUs in 32-bit firmware)
 * cannot run — so it is left unknown. 20 "PC/AT BIOS HTTP" is not a real client in the wild.
 */
const CLOSEST: Record<number, Firmware> = {
  // 1-5: legacy PC-98, Itanium, DEC Alpha, Arc x86, Intel Lean Client: all PXE-on-BIOS style ROMs.
  5: 'bios',
  // 22: "ARM 64-bit uboot"; u-boot's EFI loader runs EFI binaries.
  22: 'uefi-arm64',
};

export function firmwareOf(arch: number | undefined, httpBoot = false): Firmware {
  // No option 93 at all: only old BIOS PXE ROMs omit it (RFC 4578 made it mandatory for UEFI).
  if (arch === undefined) return httpBoot ? 'uefi-x64-http' : 'bios';
  const fw = BY_ARCH[arch] ?? CLOSEST[arch] ?? 'unknown';
  if (!httpBoot) return fw;
  // Vendor class "HTTPClient" with a PXE arch value: the client still wants a URL.
  if (fw === 'uefi-arm64' || fw === 'uefi-arm64-http') return 'uefi-arm64-http';
  if (fw === 'uefi-x64' || fw === 'uefi-x64-http') return 'uefi-x64-http';
  return fw;
}

export function isUefi(fw: Firmware): boolean {
  return fw.startsWith('uefi');
}

export function isHttpBoot(fw: Firmware): boolean {
  return fw.endsWith('-http');
}

/**
 * iPXE binary per firmware, as a TFTP path below a tftp root (or, for HTTP Boot, below the
 * HTTP server's /boot/ folder). Debian's `ipxe` package ships only x86 builds; ARM64 iPXE
 * (bin-arm64-efi/snponly.efi of an iPXE build) is expected at arm64-efi/<efiBinary>, which an
 * admin drops into a TFTP root. IA32 UEFI likewise at i386-efi/<efiBinary>.
 */
export function bootBinary(fw: Firmware, efiBinary: string, present?: (rel: string) => boolean): string | undefined {
  switch (fw) {
    case 'bios': return 'undionly.kpxe';
    case 'uefi-x64': case 'uefi-x64-http': return efiBinary;
    case 'uefi-arm64': case 'uefi-arm64-http': return otherIfAbsent('arm64-efi', efiBinary, present);
    case 'uefi-ia32': return otherIfAbsent('i386-efi', efiBinary, present);
    case 'uefi-arm32': case 'unknown': return undefined;
  }
}

/** For the builds an admin adds by hand: the configured flavor of iPXE if present, else the other one if that is. */
function otherIfAbsent(dir: string, efiBinary: string, present?: (rel: string) => boolean): string {
  const want = `${dir}/${efiBinary}`;
  if (!present || present(want)) return want;
  const other = `${dir}/${efiBinary === 'snponly.efi' ? 'ipxe.efi' : 'snponly.efi'}`;
  return present(other) ? other : want;
}
