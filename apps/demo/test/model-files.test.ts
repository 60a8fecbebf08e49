import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError } from '@multichexnet/core';
import { describe, expect, it } from 'vitest';
import { readModelFiles } from '../src/engine/model-files';
import { parseProvenance } from '../src/engine/provenance';

const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bundled = join(appRoot, 'public', 'model', 'model.onnx');
const hasBundled = existsSync(bundled);
if (!hasBundled)
  console.warn('[model-files] bundled-model cases skipped: public/model/model.onnx is missing (npm run demo:model)');

describe('readModelFiles', () => {
  it('refuses no file, three files, and bytes that are not ONNX', async () => {
    await expect(readModelFiles([])).rejects.toThrow(DataError);
    const junk = { name: 'x.onnx', bytes: new TextEncoder().encode('definitely not a protobuf, just some text') };
    await expect(readModelFiles([junk, junk, junk])).rejects.toThrow(/one model.onnx/);
    await expect(readModelFiles([junk])).rejects.toThrow(/Not an ONNX model file/);
  });

  it.skipIf(!hasBundled)('reads the bundled model as a verified single graph', async () => {
    const bytes = new Uint8Array(readFileSync(bundled));
    const m = await readModelFiles([{ name: 'model.onnx', bytes }]);
    expect(m.kind).toBe('single');
    expect(m.metadata.role).toBe('model');
    expect(m.metadata.classNames).toHaveLength(14);
    expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(m.sizeBytes).toBe(bytes.byteLength);
    const provenance = JSON.parse(readFileSync(join(dirname(bundled), 'provenance.json'), 'utf8')) as {
      checksum: string;
    };
    expect(provenance.checksum).toBe(m.checksum);
  });

  it.skipIf(!hasBundled)("the bundled model's provenance command is one `multichexnet train` takes as printed", () => {
    const provenance = JSON.parse(readFileSync(join(dirname(bundled), 'provenance.json'), 'utf8')) as {
      run: string;
      command: string;
      notes: string[];
    };
    // the built-in plan as `train` names it (`<plan>:<size>`), the data root, the run folder, the seed
    const m = /^multichexnet train ([a-z-]+):(tiny|small|full) --data (\S+) --run (\S+) --seed (\d+)$/.exec(
      provenance.command,
    );
    expect(m, provenance.command).not.toBeNull();
    expect(m![4]).toBe(provenance.run);
    expect(provenance.notes[0]).toMatch(new RegExp(`^plan ${m![1]}-${m![2]},`));
  });

  it.skipIf(!hasBundled)('refuses two single graphs together and a tampered copy', async () => {
    const bytes = new Uint8Array(readFileSync(bundled));
    await expect(
      readModelFiles([
        { name: 'a.onnx', bytes },
        { name: 'b.onnx', bytes },
      ]),
    ).rejects.toThrow(/runs on its own/);
    const tampered = bytes.slice();
    // A byte in the middle of the weights: the graph still parses, the checksum no longer matches.
    tampered[Math.floor(tampered.length / 2)]! ^= 0xff;
    await expect(readModelFiles([{ name: 'model.onnx', bytes: tampered }])).rejects.toThrow(DataError);
  });
});

describe('parseProvenance', () => {
  it('keeps the known fields and finite metrics, and refuses non-objects', () => {
    expect(parseProvenance(null)).toBeNull();
    expect(parseProvenance('quickstart')).toBeNull();
    const p = parseProvenance({
      run: 'runs/quickstart',
      command: 'npm run quickstart',
      metrics: { a: 0.5, b: 'x', c: Number.NaN },
      notes: ['n', 3],
    });
    expect(p).toMatchObject({
      run: 'runs/quickstart',
      command: 'npm run quickstart',
      metrics: { a: 0.5 },
      notes: ['n'],
    });
  });
});
