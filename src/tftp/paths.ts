// Which requested names we are willing to look up at all. Everything a PXE client, pxelinux,
// GRUB or iPXE legitimately asks for is a plain relative path; anything else is a probe or a
// misconfiguration, refused with error 2 before the file system is touched.

export type NameCheck = { ok: true; rel: string } | { ok: false; reason: string };

export function checkName(name: string): NameCheck {
  if (name.length === 0) return { ok: false, reason: 'empty name' };
  if (name.includes('\0')) return { ok: false, reason: 'NUL byte in name' };
  if (/[\x00-\x1f\x7f]/.test(name)) return { ok: false, reason: 'control character in name' };
  // Windows clients and some PXE menus send backslashes; on a Linux root they could only be
  // an attempt to smuggle a separator past the checks below.
  if (name.includes('\\')) return { ok: false, reason: 'backslash in name' };
  if (name.startsWith('/')) return { ok: false, reason: 'absolute path' };
  // No real boot file name is URL-encoded; %2e%2e/ and %2f are classic traversal disguises.
  if (/%[0-9a-f]{2}/i.test(name)) return { ok: false, reason: 'URL-encoded characters in name' };
  const segments = name.split('/');
  for (const s of segments) {
    if (s === '..') return { ok: false, reason: 'parent directory (..) in name' };
    if (s === '.' || s === '') return { ok: false, reason: 'empty or "." path segment' };
  }
  return { ok: true, rel: segments.join('/') };
}
