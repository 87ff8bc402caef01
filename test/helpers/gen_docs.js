// gen_docs.js - deterministic random documents for the item round-trip test.
//
// Usage: node gen_docs.js COUNT SEED
// Prints one line per document: the JSON text (for jsonb), a tab, and the
// same document as a DynamoDB item (AttributeValues), for writing it with
// another client.  Numbers are written as exact text (up to 38 digits,
// exponents to DynamoDB's limits); strings mix raw UTF-8, \u escapes,
// escaped surrogate pairs and characters outside the BMP.  No empty
// strings (DynamoDB Local 0.6 refuses them), no NUL (jsonb refuses it).
'use strict';
const [count, seed] = process.argv.slice(2).map(Number);
let state = seed >>> 0;
function rand() { // mulberry32
  state = (state + 0x6D2B79F5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

const pools = [
  [0x20, 0x7e], [0xa0, 0xff], [0x400, 0x4ff], [0x4e00, 0x4fff], [0x1f600, 0x1f64f], [0x1, 0x1f], [0x10000, 0x1000f],
];
function codePoint() {
  const [lo, hi] = pick(pools);
  return int(lo, hi);
}
const hex4 = (n) => n.toString(16).padStart(4, '0');
// One string as a JSON literal: each character raw or escaped, at random.
function jsonString() {
  let out = '"';
  const n = int(1, 16);
  for (let i = 0; i < n; i++) {
    const cp = codePoint();
    const ch = String.fromCodePoint(cp);
    if (cp === 0x22) out += '\\"';
    else if (cp === 0x5c) out += '\\\\';
    else if (cp < 0x20) out += pick(['\\u' + hex4(cp), cp === 10 ? '\\n' : '\\u' + hex4(cp)]);
    else if (rand() < 0.3) {
      if (cp > 0xffff) {
        const hi = 0xd800 + ((cp - 0x10000) >> 10), lo = 0xdc00 + ((cp - 0x10000) & 0x3ff);
        out += '\\u' + hex4(hi) + '\\u' + hex4(lo);
      } else out += '\\u' + hex4(cp);
    } else out += ch;
  }
  return out + '"';
}
function digits(n, firstNonZero) {
  let s = firstNonZero ? String(int(1, 9)) : '';
  while (s.length < n) s += String(int(0, 9));
  return s;
}
// A number's text: integers, decimals, exponents, up to 38 significant digits.
function number() {
  const sign = rand() < 0.3 ? '-' : '';
  switch (int(0, 5)) {
    case 0: return sign + String(int(0, 1000));
    case 1: return sign + digits(int(1, 38), true);
    case 2: { const n = int(2, 38); const d = digits(n, true); const p = int(1, n - 1); return sign + d.slice(0, p) + '.' + d.slice(p); }
    case 3: return sign + '0.' + '0'.repeat(int(0, 20)) + digits(int(1, 18), true);
    case 4: return sign + digits(1, true) + '.' + digits(int(1, 37), false) + 'E' + String(int(-129, 125));
    default: return sign + pick(['9.9999999999999999999999999999999999999E+125', '1E-130', '12345678901234567890123456789012345678', '1E+100']);
  }
}
// A value as [json, attributeValue] texts.
function value(depth) {
  const kind = depth >= 5 ? int(0, 3) : int(0, 5);
  switch (kind) {
    case 0: { const s = jsonString(); return [s, '{"S":' + s + '}']; }
    case 1: { const n = number(); return [n, '{"N":"' + n + '"}']; }
    case 2: { const b = rand() < 0.5 ? 'true' : 'false'; return [b, '{"BOOL":' + b + '}']; }
    case 3: return ['null', '{"NULL":true}'];
    case 4: {
      const items = Array.from({ length: int(0, 4) }, () => value(depth + 1));
      return ['[' + items.map((i) => i[0]).join(',') + ']', '{"L":[' + items.map((i) => i[1]).join(',') + ']}'];
    }
    default: {
      const fields = fieldsOf(int(0, 4), depth + 1);
      return ['{' + fields.map((f) => f[0]).join(',') + '}', '{"M":{' + fields.map((f) => f[1]).join(',') + '}}'];
    }
  }
}
function fieldsOf(n, depth) {
  const names = new Set();
  const out = [];
  while (out.length < n) {
    const name = jsonString();
    const plain = JSON.parse(name);
    if (plain.startsWith('$') || plain === 'pk' || plain === 'sk' || names.has(plain)) continue;
    names.add(plain);
    const [j, a] = value(depth);
    out.push([name + ':' + j, name + ':' + a]);
  }
  return out;
}
for (let i = 0; i < count; i++) {
  const key = ['"pk":"gen"', '"sk":"doc-' + String(i).padStart(5, '0') + '"'];
  const keyAv = ['"pk":{"S":"gen"}', '"sk":{"S":"doc-' + String(i).padStart(5, '0') + '"}'];
  const fields = fieldsOf(int(1, 6), 1);
  process.stdout.write('{' + key.concat(fields.map((f) => f[0])).join(',') + '}\t{' +
    keyAv.concat(fields.map((f) => f[1])).join(',') + '}\n');
}
