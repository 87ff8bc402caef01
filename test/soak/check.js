// check.js - judges a soak: reads every client's history, the final state
// and the fault record from SOAK_DIR, prints the figures, and writes one
// "pass"/"fail" line a property to $RESULTS.  A property fails on any
// violation, each printed with what shows it.
//
//   node check.js SOAK_DIR STATEMENT_TIMEOUT_MS SEED BOUND
'use strict';
const fs = require('fs');
const path = require('path');

const [dir, statementTimeoutArg, seed, boundArg] = process.argv.slice(2);
const statementTimeout = Number(statementTimeoutArg);
const bound = Number(boundArg);
const lines = (name) => {
  const file = path.join(dir, name);
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
};

const ops = lines('history').map((l) => {
  const [op, cluster, client, key, outcome, code, slowest, t0, t1, detail = ''] = l.split('\t');
  return { op, cluster, client, key, outcome, code, slowest: Number(slowest), t0: Number(t0), t1: Number(t1), detail };
});
const final = { counter: new Map(), tally: new Map(), optimistic: new Map(), put: new Map(), row: [] };
for (const l of lines('final')) {
  const [kind, a, b] = l.split('\t');
  if (kind === 'row') final.row.push({ cluster: a, id: b });
  else final[kind].set(a, b);
}

const results = [];
function property(name, violations, figures) {
  const shown = violations.slice(0, 10);
  results.push({ name, violations: violations.length, figures });
  console.log(`${violations.length ? 'FAIL' : 'ok  '} soak: ${name}${figures ? ' (' + figures + ')' : ''}`);
  for (const v of shown) console.log('       ' + v);
  if (violations.length > shown.length) console.log(`       ... and ${violations.length - shown.length} more`);
}
const count = (list, f) => list.filter(f).length;
const show = (o) => `${o.op} ${o.key} by ${o.cluster}/${o.client} at ${o.t0}: ${o.outcome} ${o.code} [${o.detail}]`;

// --- counters: final = acknowledged + some of the maybe-applied, and no value handed out twice
{
  const violations = [];
  const figures = [];
  for (const name of ['soak-n0', 'soak-n1', 'soak-n2', 'soak-hot', 'soak-bounded']) {
    const mine = ops.filter((o) => o.op === 'increment' && o.key === name);
    const acked = mine.filter((o) => o.outcome === 'ok');
    const maybe = count(mine, (o) => o.outcome === 'maybe');
    const value = Number(final.counter.get(name) || 0);
    if (value < acked.length || value > acked.length + maybe)
      violations.push(`${name}: ${value} in DynamoDB, ${acked.length} acknowledged increments and ${maybe} of unknown outcome`);
    const seen = new Map();
    for (const o of acked) {
      const v = Number(o.detail);
      if (!(v >= 1 && v <= value)) violations.push(`${name}: ${show(o)} returned a value outside [1, ${value}]`);
      if (seen.has(v)) violations.push(`${name}: ${v} returned twice: ${show(seen.get(v))} and ${show(o)}`);
      seen.set(v, o);
    }
    if (name === 'soak-bounded' && value > bound) violations.push(`${name}: ${value} is past its max_value ${bound}`);
    figures.push(`${name} ${value} = ${acked.length} acknowledged + ${value - acked.length} of ${maybe} unknown`);
  }
  property('each counter equals its acknowledged increments plus some of those of unknown outcome; no value returned twice '
    + '(soak-hot: four at once, combined)', violations, figures.join('; '));
}

// --- the tally: its sum (over 4 or 8 shards) is the acknowledged adds plus some of the unknown ones
{
  const mine = ops.filter((o) => o.op === 'tally');
  const acked = count(mine, (o) => o.outcome === 'ok');
  const maybe = count(mine, (o) => o.outcome === 'maybe');
  const value = Number(final.tally.get('soak-tally') || 0);
  const violations = value < acked || value > acked + maybe
    ? [`soak-tally: ${value} summed, ${acked} acknowledged adds and ${maybe} of unknown outcome`] : [];
  property('the tally sums its acknowledged adds plus some of those of unknown outcome, its shard count changed along the way',
    violations, `soak-tally ${value} = ${acked} acknowledged + ${value - acked} of ${maybe} unknown`);
}

// --- IDs: none handed out twice, across both clusters, by dynamo_nextval or the trigger
{
  const violations = [];
  const owner = new Map(); // counter -> id -> where
  const claim = (counter, id, where) => {
    if (!owner.has(counter)) owner.set(counter, new Map());
    const ids = owner.get(counter);
    if (ids.has(id)) violations.push(`${counter}: ID ${id} twice: ${ids.get(id)} and ${where}`);
    else ids.set(id, where);
  };
  for (const o of ops.filter((o) => o.op === 'nextval' && o.outcome === 'ok'))
    for (const id of o.detail.split(',').filter(Boolean)) claim(o.key, id, show(o));
  const rowsByCluster = { a: new Set(), b: new Set() };
  for (const r of final.row) {
    claim('soak-ids-t', r.id, `a row of cluster ${r.cluster}'s soak_rows`);
    rowsByCluster[r.cluster].add(r.id);
  }
  for (const o of ops.filter((o) => o.op === 'trigger' && o.outcome === 'ok'))
    for (const id of o.detail.split(',').filter(Boolean))
      if (!rowsByCluster[o.cluster].has(id)) violations.push(`a row inserted and committed is gone: ID ${id} of ${show(o)}`);
  for (const o of ops.filter((o) => o.op === 'trigger' && o.code === '23505')) violations.push(`duplicate key: ${show(o)}`);
  for (const [counter, ids] of owner) {
    const top = Number(final.counter.get(counter) || 0);
    for (const id of ids.keys())
      if (!(Number(id) >= 1 && Number(id) <= top)) violations.push(`${counter}: ID ${id} outside [1, ${top}] (the counter's value)`);
  }
  const total = [...owner.values()].reduce((n, ids) => n + ids.size, 0);
  property('no ID handed out twice across both clusters (dynamo_nextval at caches 1, 10, 100 and the trigger); committed rows kept',
    violations, `${total} IDs, ${final.row.length} trigger rows`);
}

// --- locks: critical sections whose holder still held the lock at their end overlap no other
// holder's acquisition, and fencing tokens grow in the order the sections ran
{
  const violations = [];
  const sections = [];
  for (const o of ops.filter((o) => o.op.startsWith('lock-'))) {
    const parts = Object.fromEntries(o.detail.split(';').map((p) => p.split('|')).map(([k, ...rest]) => [k, rest]));
    if (!parts.S) continue; // never held
    sections.push({ o, lock: o.key, called: Number(parts.A[0]), token: Number(parts.S[0]), start: Number(parts.S[1]),
      end: parts.E ? Number(parts.E[0]) : null, held: !!(parts.E && parts.E[1] === 't' && o.outcome === 'ok') });
  }
  const locks = [...new Set(sections.map((s) => s.lock))];
  let kept = 0;
  for (const lock of locks) {
    const mine = sections.filter((s) => s.lock === lock);
    const tokens = new Map();
    for (const s of mine) {
      if (tokens.has(s.token)) violations.push(`${lock}: fencing token ${s.token} given twice: ${show(tokens.get(s.token).o)} and ${show(s.o)}`);
      tokens.set(s.token, s);
    }
    const held = mine.filter((s) => s.held).sort((x, y) => x.start - y.start);
    kept += held.length;
    // s was granted inside h's section when its call began after h held the
    // lock, or when its token is larger (granted after h) and it held the
    // lock before h's end
    for (const h of held)
      for (const s of mine)
        if (s !== h && s.start < h.end && (s.called > h.start || s.token > h.token))
          violations.push(`${lock}: taken by ${show(s.o)} during a section held to its end by ${show(h.o)}`);
    for (let i = 1; i < held.length; i++)
      if (held[i].token <= held[i - 1].token)
        violations.push(`${lock}: token ${held[i].token} after ${held[i - 1].token}: ${show(held[i].o)}`);
  }
  const lost = count(sections, (s) => !s.held);
  property('no lock taken while another session held it to the end of its section; fencing tokens unique and in order',
    violations, `${sections.length} acquisitions, ${kept} sections held to their end, ${lost} lost or cut short`);
}

// --- optimistic writes: the total equals the acknowledged updates plus some of the unknown
{
  const mine = ops.filter((o) => o.op === 'optimistic');
  const acked = count(mine, (o) => o.outcome === 'ok');
  const maybe = count(mine, (o) => o.outcome === 'maybe');
  const races = count(mine, (o) => o.code === '40001');
  const total = Number(final.optimistic.get('soak-opt') || 0);
  const violations = total < acked || total > acked + maybe
    ? [`total ${total}, ${acked} acknowledged updates and ${maybe} of unknown outcome`] : [];
  property('the optimistic total equals its acknowledged updates plus some of those of unknown outcome', violations,
    `total ${total} = ${acked} acknowledged + ${total - acked} of ${maybe} unknown; ${races} lost races (40001)`);
}

// --- items: every acknowledged put can be read back, at once and at the end
{
  const violations = [];
  const puts = ops.filter((o) => o.op === 'put' && o.outcome === 'ok');
  for (const o of puts) {
    if (final.put.get(o.key) !== o.detail) violations.push(`acknowledged put not read back at the end: ${show(o)} (read ${final.put.get(o.key)})`);
  }
  const value = new Map(puts.map((o) => [o.key, o.detail]));
  const gets = ops.filter((o) => o.op === 'get' && o.outcome === 'ok');
  for (const o of gets) if (o.detail !== value.get(o.key)) violations.push(`read after an acknowledged put: ${show(o)}`);
  property('every acknowledged put is read back, at once and at the end', violations, `${puts.length} puts, ${gets.length} reads`);
}

// --- no call outlived statement_timeout by more than 200 ms
{
  const violations = ops.filter((o) => o.slowest > statementTimeout + 200 || o.code === 'hung')
    .map((o) => `${o.code === 'hung' ? 'still running after 60 s, killed' : o.slowest + ' ms'}: ${show(o)}`);
  const slowest = ops.reduce((m, o) => Math.max(m, o.slowest), 0);
  property(`no statement outlived statement_timeout (${statementTimeout} ms) by more than 200 ms`, violations, `slowest ${slowest} ms`);
}

// --- no backend crashed
property('no backend crashed (server logs)', lines('crashes'), null);

// --- the run did something: every kind of operation acknowledged, faults injected
{
  const violations = [];
  for (const op of ['increment', 'tally', 'nextval', 'trigger', 'lock-session', 'lock-xact', 'optimistic', 'put'])
    if (!ops.some((o) => o.op === op && o.outcome === 'ok')) violations.push(`no ${op} was acknowledged`);
  if (!ops.some((o) => o.key === 'soak-bounded' && o.code === '2200H')) violations.push(`the bounded counter never reached its bound ${bound} (no 2200H)`);
  const faults = lines('faults').map((l) => l.split('\t')[0]);
  if (faults.length === 0) violations.push('no fault was scheduled');
  let injected = {};
  try { injected = JSON.parse(fs.readFileSync(path.join(dir, 'front_stats.json'), 'utf8')); } catch (e) { /* checked below */ }
  if (Object.keys(injected).length === 0) violations.push('the front injected no fault (or its figures are missing)');
  property('every kind of operation was acknowledged, the bound was reached, and faults were injected', violations, null);
}

// --- the figures
const byOp = {};
for (const o of ops) {
  byOp[o.op] = byOp[o.op] || {};
  byOp[o.op][o.outcome === 'ok' ? 'ok' : o.code] = (byOp[o.op][o.outcome === 'ok' ? 'ok' : o.code] || 0) + 1;
}
const fmt = (obj) => Object.entries(obj).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(', ');
console.log(`soak figures (seed ${seed}): ${ops.length} operations`);
for (const [op, outcomes] of Object.entries(byOp)) console.log(`  ${op.padEnd(13)} ${fmt(outcomes)}`);
const scheduled = {};
for (const f of lines('faults').map((l) => l.split('\t')[0])) scheduled[f] = (scheduled[f] || 0) + 1;
console.log(`  faults scheduled: ${fmt(scheduled) || 'none'}`);
let front = {};
try { front = JSON.parse(fs.readFileSync(path.join(dir, 'front_stats.json'), 'utf8')); } catch (e) { /* none recorded */ }
console.log(`  requests faulted by the front: ${fmt(front) || 'none'}`);
const violationsTotal = results.reduce((n, r) => n + r.violations, 0);
console.log(`  violations: ${violationsTotal}`);

const out = results.map((r) => `${r.violations ? 'fail' : 'pass'} soak: ${r.name}${r.violations ? ` (seed ${seed})` : ''}\n`).join('');
fs.appendFileSync(process.env.RESULTS, out);
