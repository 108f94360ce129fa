// The YAML a preprocessing recipe needs, and no more: nested mappings by indentation, scalars
// (plain or quoted), inline lists [a, b] and block lists (- a), and # comments. Anchors, tags,
// multi-line strings and flow mappings are refused with the line number.

type Value = string | Value[] | { [k: string]: Value };

interface Line {
  n: number;
  indent: number;
  text: string;
}

function scalar(s: string, n: number): Value {
  const t = s.trim();
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw new Error(`line ${n}: unclosed [`);
    const body = t.slice(1, -1).trim();
    return body ? body.split(',').map((x) => scalar(x, n) as string) : [];
  }
  if (/^["']/.test(t)) {
    const q = t[0]!;
    if (!t.endsWith(q) || t.length < 2) throw new Error(`line ${n}: unclosed quote`);
    return t.slice(1, -1);
  }
  if (/^[&*!|>{]/.test(t)) throw new Error(`line ${n}: '${t[0]}' (anchors, tags, block strings, flow mappings) is not supported in a recipe`);
  return t;
}

function stripComment(s: string): string {
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]!))) return s.slice(0, i);
  }
  return s;
}

function block(lines: Line[], start: number, indent: number): [Value, number] {
  const first = lines[start];
  if (!first || first.indent < indent) return ['', start];
  if (first.text.startsWith('- ') || first.text === '-') {
    const list: Value[] = [];
    let i = start;
    while (i < lines.length && lines[i]!.indent === first.indent && lines[i]!.text.startsWith('-')) {
      list.push(scalar(lines[i]!.text.slice(1), lines[i]!.n));
      i++;
    }
    return [list, i];
  }
  const map: { [k: string]: Value } = {};
  let i = start;
  while (i < lines.length && lines[i]!.indent >= first.indent) {
    const l = lines[i]!;
    if (l.indent > first.indent) throw new Error(`line ${l.n}: unexpected indentation`);
    const m = /^("[^"]*"|'[^']*'|[^:]+?)\s*:(\s+(.*))?$/.exec(l.text);
    if (!m) throw new Error(`line ${l.n}: expected 'key: value'`);
    const key = m[1]!.replace(/^["']|["']$/g, '');
    if (key in map) throw new Error(`line ${l.n}: key '${key}' appears twice`);
    if (m[3] !== undefined && m[3].trim() !== '') {
      map[key] = scalar(m[3], l.n);
      i++;
    } else {
      const [v, next] = block(lines, i + 1, first.indent + 1);
      map[key] = v;
      i = next;
    }
  }
  return [map, i];
}

export function parseYaml(text: string): Value {
  const lines: Line[] = [];
  text.split(/\r?\n/).forEach((raw, k) => {
    if (/^\s*\t/.test(raw)) throw new Error(`line ${k + 1}: tabs are not allowed for indentation in YAML`);
    const s = stripComment(raw).replace(/\s+$/, '');
    if (!s.trim() || s.trim() === '---') return;
    lines.push({ n: k + 1, indent: s.length - s.trimStart().length, text: s.trim() });
  });
  if (!lines.length) return {};
  const [v, end] = block(lines, 0, 0);
  if (end < lines.length) throw new Error(`line ${lines[end]!.n}: unexpected indentation`);
  return v;
}
