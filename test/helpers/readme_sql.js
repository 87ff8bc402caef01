// readme_sql.js - the README's ```sql blocks as files, for test/cases/readme.sh.
//
// Usage: node readme_sql.js README.md OUTDIR
// Writes OUTDIR/NN.sql for each block, in order, and prints "NN LINE WHO" per
// block (LINE: where it starts in the README; WHO: "app" for a block after
// "<!-- install: as app -->", which test/cases/install.sh runs logged in as
// that role, else "superuser").  A block right after a line
// "<!-- not run: why -->" is skipped.  A one-line "SELECT expr;  -- N ..."
// (N an integer, or 'text' in quotes) becomes a check that expr equals N,
// so the values the README shows are asserted, not only the statements run.
'use strict';
const fs = require('fs');
const path = require('path');

const [readme, outDir] = process.argv.slice(2);
const lines = fs.readFileSync(readme, 'utf8').split('\n');
let block = null;
let count = 0;
let previous = '';

function check(line) {
  const m = /^SELECT (.+?);\s+-- (-?\d+(?:\.\d+)?\b|'[^']*')/.exec(line);
  if (!m) return line;
  const expr = m[1].replace(/\$readme\$/g, '');
  const want = m[2].startsWith("'") ? m[2].slice(1, -1) : m[2];
  const quoted = want.replace(/'/g, "''");
  return `DO $readme$ DECLARE got text := (SELECT ${expr})::text; BEGIN IF got IS DISTINCT FROM '${quoted}' THEN ` +
    `RAISE EXCEPTION 'README says %, but got %', '${quoted}', got; END IF; END $readme$;`;
}

lines.forEach((line, i) => {
  if (block === null && line.trim() === '```sql') {
    block = { start: i + 1, skip: previous.startsWith('<!-- not run'), who: previous.startsWith('<!-- install: as app') ? 'app' : 'superuser', body: [] };
  } else if (block !== null && line.trim() === '```') {
    if (!block.skip) {
      count++;
      const name = String(count).padStart(2, '0');
      fs.writeFileSync(path.join(outDir, name + '.sql'), block.body.map(check).join('\n') + '\n');
      console.log(`${name} ${block.start} ${block.who}`);
    }
    block = null;
  } else if (block !== null) {
    block.body.push(line);
  }
  if (line.trim() !== '') previous = line.trim();
});
