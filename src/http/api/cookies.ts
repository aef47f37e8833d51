// Cookie header parsing and Set-Cookie writing (RFC 6265), small enough to own.
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    // The first occurrence wins, as browsers send the most specific path first.
    if (!out.has(name)) {
      try { out.set(name, decodeURIComponent(value)); } catch { out.set(name, value); }
    }
  }
  return out;
}

export interface CookieOptions { maxAgeS?: number; secure: boolean; httpOnly?: boolean; path?: string }

export function serializeCookie(name: string, value: string, o: CookieOptions): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${o.path ?? '/'}`, 'SameSite=Strict'];
  if (o.httpOnly ?? true) parts.push('HttpOnly');
  if (o.secure) parts.push('Secure');
  if (o.maxAgeS !== undefined) parts.push(`Max-Age=${o.maxAgeS}`);
  return parts.join('; ');
}

export const SESSION_COOKIE = 'bb_session';
/** Before login there is no session to hold the CSRF token: a double-submit cookie guards the login form. */
export const PRELOGIN_COOKIE = 'bb_prelogin';
