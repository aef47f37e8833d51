// Can a command line reach the kernel as written? Two things stand between an admin's
// arguments and /proc/cmdline: iPXE's script grammar and the kernel's buffer.

/**
 * iPXE (core/exec.c, command_terminator) ends a command at a word that is exactly "||", "&&"
 * or ";", and drops the rest of the line at a word starting with "#" — checked before
 * settings are expanded, with no quoting or escape. Such a word on the kernel line would cut
 * it short (and its "|| goto failed" with it). "${name}" is left alone on purpose: iPXE
 * expands it (e.g. ${net0/ip}), which is why admins write it.
 */
export function ipxeBreakingArg(args: readonly string[]): string | undefined {
  return args.find((a) => a === '||' || a === '&&' || a === ';' || a.startsWith('#'));
}

/**
 * COMMAND_LINE_SIZE is 2048 on x86 and arm64, NUL included; iPXE's bzImage loader and the EFI
 * stub silently truncate to it, so the machine's own arguments (last, meant to win) would be
 * the ones lost. Under UEFI the line also starts with the image name ("vmlinuz ").
 */
export const KERNEL_CMDLINE_MAX = 2047;

/** Why `line` (as the plan shows it, BOOTIF filled in) cannot reach the kernel intact, or undefined. */
export function cmdlineProblem(line: string): string | undefined {
  const bad = ipxeBreakingArg(line.split(' '));
  if (bad !== undefined) return `kernel argument "${bad}" would end the iPXE command line (a word "||", "&&", ";" or starting with "#"): remove it from the image, branch or machine arguments`;
  // What the kernel receives from the iPXE script under UEFI: "vmlinuz initrd=initrd.img " + line.
  const len = Buffer.byteLength(`vmlinuz initrd=initrd.img ${line}`);
  if (len > KERNEL_CMDLINE_MAX) return `kernel command line is ${len} bytes; Linux keeps only ${KERNEL_CMDLINE_MAX}: shorten the image, branch or machine arguments`;
  return undefined;
}
