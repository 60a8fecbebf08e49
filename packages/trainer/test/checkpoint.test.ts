import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '@multichexnet/core';
import {
  checkpointName,
  loadCheckpoint,
  loadLatestCheckpoint,
  restoreBlocks,
  saveCheckpoint,
  type CheckpointState,
} from '../src/index';
import { differing, smallModel, snapshot } from './helpers';

const state: CheckpointState = {
  weighting: { type: 'equal' },
  optimizer: { type: 'adam', steps: { 'cls/w': 3 } },
  best: null,
  gateThreshold: 0.4,
  elapsedSeconds: 12,
};
const optimizer = {
  type: 'adam' as const,
  steps: { 'cls/w': 3 },
  slots: [
    { key: 'cls/w', slot: 'm', shape: [2, 2], values: Float32Array.of(1, 2, 3, 4) },
    { key: 'cls/w', slot: 'v', shape: [2, 2], values: Float32Array.of(5, 6, 7, 8) },
  ],
};
const plan = { name: 'p', sha256: 'abc' };

describe('checkpoints', () => {
  it('round-trip weights, optimizer moments and state; latest.json names the newest', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const model = smallModel(1);
    const pos = { phaseIndex: 1, phase: 'b', step: 20, globalStep: 70 };
    expect(checkpointName(pos)).toBe('p01-s0000020');
    await saveCheckpoint(root, checkpointName(pos), { model, position: pos, plan, state, optimizer });
    const latest = (await loadLatestCheckpoint(root))!;
    expect(latest.manifest.position).toEqual(pos);
    expect(latest.state).toEqual(state);
    expect(latest.optimizer!.slots.map((s) => [s.key, s.slot, Array.from(s.values)])).toEqual([
      ['cls/w', 'm', [1, 2, 3, 4]],
      ['cls/w', 'v', [5, 6, 7, 8]],
    ]);
    const other = smallModel(2);
    expect(differing(snapshot(model), snapshot(other)).length).toBeGreaterThan(0);
    await restoreBlocks(other, latest);
    expect(differing(snapshot(model), snapshot(other))).toEqual([]);
    model.dispose();
    other.dispose();
  });

  it('refuses an altered or truncated file, and an altered manifest', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const model = smallModel(3);
    const pos = { phaseIndex: 0, phase: 'a', step: 5, globalStep: 5 };
    const dir = await saveCheckpoint(root, checkpointName(pos), { model, position: pos, plan, state, optimizer });
    const enc = join(dir, 'encoder.safetensors');
    const bytes = readFileSync(enc);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(enc, bytes);
    await expect(loadLatestCheckpoint(root)).rejects.toThrow(
      /encoder\.safetensors.*checksum mismatch|checksum mismatch.*encoder\.safetensors/,
    );
    writeFileSync(enc, bytes.subarray(0, 100));
    await expect(loadCheckpoint(dir)).rejects.toThrow(DataError);
    const manifest = join(dir, 'manifest.json');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('"step": 5', '"step": 6'));
    await expect(loadLatestCheckpoint(root)).rejects.toThrow(/manifest checksum mismatch/);
    model.dispose();
  });

  it('a crash while writing leaves the previous checkpoint in force', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const model = smallModel(4);
    const first = { phaseIndex: 0, phase: 'a', step: 2, globalStep: 2 };
    await saveCheckpoint(root, checkpointName(first), { model, position: first, plan, state, optimizer: null });
    // What an interrupted save leaves: a half-written temporary folder, never renamed, pointer untouched.
    mkdirSync(join(root, '.tmp-p00-s0000004-999-abc'));
    writeFileSync(join(root, '.tmp-p00-s0000004-999-abc', 'encoder.safetensors'), 'partial');
    const latest = (await loadLatestCheckpoint(root))!;
    expect(latest.manifest.position.step).toBe(2);
    expect(latest.optimizer).toBeNull();
    // A failing save (the model's weights cannot be read) removes its temporary folder and keeps the pointer.
    const broken = smallModel(5);
    broken.dispose();
    await expect(
      saveCheckpoint(root, 'p00-s0000006', {
        model: broken,
        position: { ...first, step: 6 },
        plan,
        state,
        optimizer: null,
      }),
    ).rejects.toThrow();
    expect(readdirSync(root).filter((n) => n.startsWith('.tmp-p00-s0000006'))).toEqual([]);
    expect(existsSync(join(root, 'p00-s0000006'))).toBe(false);
    expect((await loadLatestCheckpoint(root))!.manifest.position.step).toBe(2);
    model.dispose();
  });

  it('returns null for a folder without checkpoints', async () => {
    expect(await loadLatestCheckpoint(mkdtempSync(join(tmpdir(), 'ckpt-')))).toBeNull();
  });
});
