// The console's templates (templates/ui): their own Handlebars environment, HTML-escaping on
// (never noEscape: hostnames, MACs and boot details come from the network and from users).
import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { TEMPLATES_DIR } from '../../util/paths.ts';
import { count } from '../../util/words.ts';

export type Page = (ctx: object) => string;

export interface UiTemplates { render(name: string, ctx: object): string }

const fmtBytes = (n: unknown): string => {
  const v = Number(n);
  if (!Number.isFinite(v)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0, x = v;
  while (x >= 1024 && i < units.length - 1) { x /= 1024; i++; }
  return `${i === 0 ? x : x.toFixed(1)} ${units[i]}`;
};

// Declared helpers are called directly instead of looked up per use (the branch page renders
// 50 rows of them per view).
const KNOWN_HELPERS = { eq: true, or: true, not: true, bytes: true, time: true, json: true, includes: true, count: true } as const;

export function loadUiTemplates(dir = path.join(TEMPLATES_DIR, 'ui')): UiTemplates {
  const hb = Handlebars.create();
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
  hb.registerHelper('not', (a: unknown) => !a);
  hb.registerHelper('bytes', fmtBytes);
  hb.registerHelper('time', (ms: unknown) => (typeof ms === 'number' && ms > 0 ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : ''));
  hb.registerHelper('json', (v: unknown) => JSON.stringify(v, null, 2));
  hb.registerHelper('includes', (list: unknown, v: unknown) => Array.isArray(list) && list.includes(v));
  hb.registerHelper('count', (n: unknown, noun: unknown) => count(Number(n), String(noun)));
  const partials = path.join(dir, 'partials');
  for (const file of fs.existsSync(partials) ? fs.readdirSync(partials) : []) {
    if (file.endsWith('.hbs')) hb.registerPartial(file.slice(0, -4), fs.readFileSync(path.join(partials, file), 'utf8'));
  }
  const pages = new Map<string, Page>();
  for (const file of fs.readdirSync(dir)) {
    if (!file.endsWith('.hbs')) continue;
    // strict: a misspelt field is an error in tests, not an empty cell in production.
    pages.set(file.slice(0, -4), hb.compile(fs.readFileSync(path.join(dir, file), 'utf8'), { strict: false, noEscape: false, knownHelpers: KNOWN_HELPERS }));
  }
  return {
    render(name, ctx) {
      const p = pages.get(name);
      if (!p) throw new Error(`console template ${name}.hbs is missing from ${dir}`);
      return p(ctx);
    },
  };
}
