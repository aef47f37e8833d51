// Reading what a test VM printed: the marker its root image wrote after switch_root, the
// kernel command line as /proc/cmdline showed it, and the initramfs's failure line if any.
import { plainConsole } from './qemu.ts';

export interface BootOutcome {
  marker?: string;
  cmdline?: string;
  failure?: string;
  rootSource?: string;
}

export function readBootOutcome(consoleText: string): BootOutcome {
  const text = plainConsole(consoleText);
  const line = (prefix: string) => {
    const m = new RegExp(`^.*?${prefix}\\s?(.*)$`, 'm').exec(text);
    return m ? m[1]!.trim() : undefined;
  };
  const out: BootOutcome = {};
  const marker = line('BBTEST-MARKER:');
  if (marker !== undefined) out.marker = marker;
  const cmdline = line('BBTEST-CMDLINE:');
  if (cmdline !== undefined) out.cmdline = cmdline;
  const failure = line('BBTEST-FAIL:');
  if (failure !== undefined) out.failure = failure;
  const src = line('BBTEST-ROOT-SOURCE:');
  if (src !== undefined) out.rootSource = src;
  return out;
}

/** The last lines of a console, for assertion messages. */
export function consoleTail(consoleText: string, lines = 40): string {
  return plainConsole(consoleText).split('\n').filter((l) => l.trim()).slice(-lines).join('\n');
}
