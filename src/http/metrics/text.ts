// The Prometheus text exposition format 0.0.4, written by hand: it is a few lines of rules
// (https://prometheus.io/docs/instrumenting/exposition_formats/), and a client library would
// bring its own registry and default collectors for what is here a list built once per scrape.

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge';

export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** In HELP text a backslash and a line break would end or garble the line. */
export function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Label values also end at an unescaped double quote. */
export function escapeLabelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/**
 * One family: # HELP, # TYPE, then its samples. Names and label names come from this code, not
 * from users: a bad one is a bug and throws rather than writing a line every scraper rejects.
 */
export function encodeFamily(f: MetricFamily): string {
  if (!NAME_RE.test(f.name)) throw new Error(`metric name ${JSON.stringify(f.name)} is not valid`);
  let out = `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
  for (const s of f.samples) {
    const labels = Object.entries(s.labels ?? {});
    let l = '';
    if (labels.length > 0) {
      l = `{${labels.map(([k, v]) => {
        if (!LABEL_RE.test(k) || k.startsWith('__')) throw new Error(`label name ${JSON.stringify(k)} of ${f.name} is not valid`);
        return `${k}="${escapeLabelValue(v)}"`;
      }).join(',')}}`;
    }
    out += `${f.name}${l} ${formatValue(s.value)}\n`;
  }
  return out;
}

/** Families without samples are left out: a service that is off has nothing to say. */
export function encodeFamilies(families: MetricFamily[]): string {
  return families.filter((f) => f.samples.length > 0).map(encodeFamily).join('');
}
