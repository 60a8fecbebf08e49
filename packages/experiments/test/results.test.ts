import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  loadProtocol,
  parseSummary,
  renderTable1,
  renderTable2,
  renderTable3,
  renderTable4,
  type Table1Summary,
  type Table2Summary,
  type Table3Summary,
  type Table4Summary,
} from '../src/index';

// The repository's results/: one folder per series of the protocol, each with the tables the series wrote.
const root = fileURLToPath(new URL('../../../results/', import.meta.url));
const folders = existsSync(root)
  ? readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
  : [];

describe('results/', () => {
  it('holds the tiny series', () => {
    expect(folders).toContain('tiny');
  });

  for (const folder of folders) {
    const renderers = {
      table1: renderTable1,
      table2: renderTable2,
      table3: renderTable3,
      table4: renderTable4,
    } as const;
    for (const [name, render] of Object.entries(renderers) as [string, (t: never) => string][]) {
      const json = join(root, folder, `${name}.json`);
      if (!existsSync(json)) continue; // a series writes the tables it has run (learnability: Tables 1 and 2)
      it(`${folder}/${name}.md is the Markdown rendered from ${folder}/${name}.json, under the shipped protocol`, async () => {
        const t = parseSummary<Table1Summary & Table2Summary & Table3Summary & Table4Summary>(
          readFileSync(json, 'utf8'),
        );
        expect(readFileSync(join(root, folder, `${name}.md`), 'utf8')).toBe(render(t as never));
        expect(t.series).toBe(folder);
        expect(t.protocol?.sha256).toBe((await loadProtocol()).sha256);
        expect(t.provenance.commit).toMatch(/^[0-9a-f]{40}$/);
        expect(t.seeds.length).toBeGreaterThan(0);
      });
    }
  }
});
