import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { FuzzReport } from './fixtures-reliability/fuzz-harness';

/*
 * Fuzzing the readers: thousands of seeded mutations (bit flips, truncations, insertions, deletions, splices, and
 * corrupted length / size / value fields of PNG chunks, JPEG segments and DICOM elements) of valid synthetic and
 * real PNG, JPEG and DICOM files, SIIM RLE strings and the four datasets' label tables. Every case must end in a
 * result that keeps the image invariants (one finite pixel per position, within [0, maxValue]) or in a DataError:
 * never a TypeError, RangeError or a library's own error, never a hang, never a giant allocation.
 *
 * The loop runs in a child process (fixtures-reliability/fuzz-harness.ts) that announces each case before running
 * it, so a case that hangs is killed by the watchdog below and named (seed + index replay it exactly).
 */
const here = dirname(fileURLToPath(import.meta.url));
const HARNESS = join(here, 'fixtures-reliability', 'fuzz-harness.ts');
const SEED = 20260112;
const CASES = 4000;
/**
 * The watchdog: a case still running after this long is a hang (a loop that never ends), killed and named. It is no
 * speed check (those belong to `npm run bench`; the log line below reports the slowest case), so it leaves a loaded
 * machine room many times over.
 */
const HANG_MS = 30_000;
const MAX_RSS = 1024 ** 3;

interface HarnessRun {
  report: FuzzReport | null;
  hung: string | null;
  code: number | null;
  stderr: string;
}

function runHarness(seed: number, cases: number): Promise<HarnessRun> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', HARNESS, String(seed), String(cases)],
      { cwd: join(here, '..'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let buf = '';
    let stderr = '';
    let last = 'startup';
    let report: FuzzReport | null = null;
    let hung: string | null = null;
    // generous for start-up (tsx, the synthetic bases); then per case
    let timer = setTimeout(() => onHang(), 60_000);
    function onHang(): void {
      hung = last;
      child.kill('SIGKILL');
    }
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('S ')) {
          last = line;
          clearTimeout(timer);
          timer = setTimeout(() => onHang(), HANG_MS);
        } else if (line.startsWith('R ')) {
          clearTimeout(timer);
          report = JSON.parse(line.slice(2)) as FuzzReport;
        }
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ report, hung, code, stderr });
    });
  });
}

describe(`fuzzing the PNG, JPEG, DICOM, RLE and label-table readers (${CASES} seeded cases)`, () => {
  it('every mutated input decodes whole or fails with a DataError, never hangs, and stays in bounded memory', async () => {
    const run = await runHarness(SEED, CASES);
    expect(run.hung, `case hung for ${HANG_MS} ms: ${run.hung}`).toBeNull();
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const r = run.report!;
    expect(r.cases).toBe(CASES);
    expect(r.failures, JSON.stringify(r.failures.slice(0, 5), null, 2)).toEqual([]);
    expect(r.maxRssBytes).toBeLessThan(MAX_RSS);
    // Not a degenerate fuzz: every reader got cases, and both outcomes occur for each.
    for (const [reader, t] of Object.entries(r.byReader)) {
      expect(t.cases, reader).toBeGreaterThan(CASES / 40);
      expect(t.ok, `${reader}: no mutated input decoded`).toBeGreaterThan(0);
      expect(t.dataError, `${reader}: no DataError`).toBeGreaterThan(0);
      expect(t.ok + t.dataError).toBe(t.cases);
    }
    console.log(
      `fuzz: ${r.cases} cases (${Object.entries(r.byReader)
        .map(([k, t]) => `${k} ${t.cases}: ${t.ok} ok, ${t.dataError} DataError`)
        .join(
          '; ',
        )}), 0 crashes, max ${r.maxCaseMs.toFixed(0)} ms per case, peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MiB, ${(r.totalMs / 1000).toFixed(1)} s; real bases: ${r.realBases.length}`,
    );
  }, 180_000);
});
