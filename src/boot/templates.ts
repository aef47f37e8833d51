// Boot templates (templates/boot/*.hbs): compiled once, then rendered per request. Boot
// scripts are not HTML: noEscape, or "&&" and "=" in a command line would turn into entities.
import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { TEMPLATES_DIR } from '../util/paths.ts';

export type TemplateName = 'ipxe-image' | 'ipxe-local' | 'ipxe-menu' | 'ipxe-error' | 'pxelinux' | 'grub';

type Render = (ctx: object) => string;

export interface BootTemplates {
  render(name: TemplateName, ctx: object): string;
  /** An image version's own iPXE template (image_versions.template), compiled on first use. */
  renderOverride(source: string, ctx: object): string;
}

const OVERRIDE_CACHE_MAX = 64;

export function loadBootTemplates(dir = path.join(TEMPLATES_DIR, 'boot')): BootTemplates {
  const hb = Handlebars.create();
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  const opts = { noEscape: true, strict: false, preventIndent: true } as const;
  const compiled = new Map<string, Render>();
  for (const file of fs.readdirSync(dir)) {
    if (!file.endsWith('.hbs')) continue;
    const name = file.slice(0, -4);
    const source = fs.readFileSync(path.join(dir, file), 'utf8');
    hb.registerPartial(name, source);
    compiled.set(name, hb.compile(source, opts));
  }
  const overrides = new Map<string, Render>();
  return {
    render(name, ctx) {
      const t = compiled.get(name);
      if (!t) throw new Error(`boot template ${name}.hbs is missing from ${dir}`);
      return t(ctx);
    },
    renderOverride(source, ctx) {
      let t = overrides.get(source);
      if (!t) {
        // Compile now (Handlebars compiles lazily) so a syntax error surfaces here, as a plan error.
        const fn = hb.compile(source, { ...opts, strict: true });
        fn({ ...ctx });
        if (overrides.size >= OVERRIDE_CACHE_MAX) overrides.delete(overrides.keys().next().value!);
        overrides.set(source, fn);
        t = fn;
      }
      return t(ctx);
    },
  };
}

let shared: BootTemplates | undefined;

/** The templates of this installation, loaded on first use. */
export function bootTemplates(): BootTemplates {
  shared ??= loadBootTemplates();
  return shared;
}

/**
 * Text shown by iPXE (echo, item), pxelinux (SAY) or GRUB (echo '…'): iPXE would expand "${…}",
 * end the command at a word "||", "&&" or ";" and drop the line from a word starting with "#"
 * (core/exec.c); GRUB ends a quoted word at "'". Keep it to plain printable text.
 */
export function bootText(s: string): string {
  return s.replace(/[^A-Za-z0-9 .,:/@=()_+\-[\]<>"!?]/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
}

/** GRUB's network path syntax for an http:// URL: (http,server)/path, or (http,server,port)/path (GRUB ≥ 2.12 reads the port). */
export function grubPath(url: string): string {
  const u = new URL(url);
  return `(${u.protocol.replace(':', '')},${u.hostname}${u.port ? `,${u.port}` : ''})${u.pathname}${u.search}`;
}
