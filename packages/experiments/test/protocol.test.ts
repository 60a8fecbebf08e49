import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DataError } from '@multichexnet/core';
import {
  checkPlan,
  defaultProtocolPath,
  freezeProtocol,
  frozenPlanForm,
  loadProtocol,
  protocolPlan,
  seriesVariants,
  sha256Of,
  type ProtocolFile,
} from '../src/index';

const planOf = (
  s: { size: 'tiny' | 'small' | 'full'; stepScale: number },
  v: Parameters<typeof protocolPlan>[1],
  p: { ablations: Parameters<typeof protocolPlan>[0]['ablations'] },
) => protocolPlan({ size: s.size, stepScale: s.stepScale, ablations: p.ablations }, v);

function tempProtocol(edit: (f: ProtocolFile) => void = () => {}): string {
  const f = JSON.parse(readFileSync(defaultProtocolPath(), 'utf8')) as ProtocolFile;
  f.frozen = null;
  f.protocol.plans = {};
  edit(f);
  const file = join(mkdtempSync(join(tmpdir(), 'mcx-protocol-')), 'protocol.json');
  writeFileSync(file, JSON.stringify(f));
  return file;
}

describe('the shipped protocol', () => {
  it('is frozen, its hash matches its content, and every plan it froze is the plan the code builds today', async () => {
    const p = await loadProtocol();
    expect(p.frozenAt).not.toBeNull();
    expect(p.protocol.finalSeeds.some((s) => p.protocol.tuningSeeds.includes(s))).toBe(false);
    for (const [name, s] of Object.entries(p.protocol.series)) {
      for (const v of seriesVariants(p.protocol, name))
        expect(() => checkPlan(p, name, v, planOf(s, v, p.protocol)), `${name}/${v}`).not.toThrow();
    }
    // Every decision says what it was made on; none on a final seed's test split.
    expect(
      p.protocol.decisions
        .map((d) => d.chosenOn)
        .every((c) => ['validation', 'development-seeds', 'fixed'].includes(c)),
    ).toBe(true);
  });
});

describe('freezing and checking a protocol', () => {
  it('freezes: plan hashes per series and variant, then the hash of the whole', async () => {
    const file = tempProtocol();
    await expect(loadProtocol(file)).rejects.toThrow(/not frozen/);
    expect((await loadProtocol(file, { allowUnfrozen: true })).frozenAt).toBeNull();
    const frozen = await freezeProtocol(file, planOf, new Date('2026-12-07T22:00:00Z'));
    expect(frozen.frozenAt).toBe('2026-12-07T22:00:00.000Z');
    expect(Object.keys(frozen.protocol.plans)).toContain('tiny/multichexnet-joint-pcgrad');
    expect(Object.keys(frozen.protocol.plans)).toContain('learnability-small/single-seg');
    expect(Object.keys(frozen.protocol.plans)).not.toContain('learnability-small/bigbang');
    const loaded = await loadProtocol(file);
    expect(loaded.sha256).toBe(frozen.sha256);
    expect(loaded.sha256).toBe(sha256Of(loaded.protocol));
  });

  it('refuses a protocol edited after the freeze, naming both hashes', async () => {
    const file = tempProtocol();
    await freezeProtocol(file, planOf);
    const f = JSON.parse(readFileSync(file, 'utf8')) as ProtocolFile;
    (f.protocol.bootstrap as { resamples: number }).resamples = 500;
    writeFileSync(file, JSON.stringify(f));
    await expect(loadProtocol(file)).rejects.toThrow(DataError);
    await expect(loadProtocol(file)).rejects.toThrow(/changed after it was frozen.*field frozen\.sha256/);
  });

  it('refuses a plan that differs from the frozen one (another step scale)', async () => {
    const file = tempProtocol();
    const p = await freezeProtocol(file, planOf);
    const tiny = p.protocol.series.tiny!;
    expect(() =>
      checkPlan(p, 'tiny', 'single-det', planOf({ ...tiny, stepScale: 0.5 }, 'single-det', p.protocol)),
    ).toThrow(/differs from the one the protocol froze/);
    expect(() => checkPlan(p, 'nonesuch', 'single-det', {})).toThrow(ConfigError);
  });

  it('hashes plans in their frozen form: a field added after the freeze at its default is left out, any other value is kept', () => {
    const plan = {
      name: 'p',
      model: {
        encoder: { preset: 'densenet-tiny' },
        cls: {},
        gate: { kind: 'cls-path', task: 'cls', classes: ['Pneumonia'] },
      },
    };
    const before = {
      name: 'p',
      model: { encoder: { preset: 'densenet-tiny' }, cls: {}, gate: { kind: 'cls-path', classes: ['Pneumonia'] } },
    };
    expect(sha256Of(frozenPlanForm(plan))).toBe(sha256Of(before));
    const otherTask = { ...plan, model: { ...plan.model, gate: { ...plan.model.gate, task: 'covid' } } };
    expect(sha256Of(frozenPlanForm(otherTask))).not.toBe(sha256Of(before));
    expect(frozenPlanForm({ name: 'q', model: { cls: {}, gate: null } })).toEqual({
      name: 'q',
      model: { cls: {}, gate: null },
    });
    // protocolPlan hashes the frozen form: the task table's default gate task is not in it.
    expect(
      JSON.stringify(
        protocolPlan(
          { size: 'tiny', stepScale: 1, ablations: { gradnorm: { type: 'equal' }, pcgrad: { type: 'equal' } } },
          'multichexnet-joint',
        ),
      ),
    ).not.toMatch(/"task":"cls"/);
  });

  it('rejects final seeds that were tuning seeds, and a series asking for more seeds than there are', async () => {
    const file = tempProtocol((f) => {
      f.protocol.tuningSeeds = [0, 100];
      (f.protocol.series as Record<string, { seeds: number }>).tiny!.seeds = 9;
    });
    await expect(loadProtocol(file, { allowUnfrozen: true })).rejects.toThrow(
      /finalSeeds: must not include tuning seeds \(found 100\)/,
    );
    await expect(loadProtocol(file, { allowUnfrozen: true })).rejects.toThrow(/series\.tiny\.seeds: must be at most 5/);
  });

  it('names a missing file and a file without its parts', async () => {
    await expect(loadProtocol('/nonexistent/protocol.json')).rejects.toThrow(
      /Cannot read the protocol file.*\/nonexistent\/protocol\.json/,
    );
    const file = join(mkdtempSync(join(tmpdir(), 'mcx-protocol-')), 'p.json');
    writeFileSync(file, '{"name": 1}');
    await expect(loadProtocol(file)).rejects.toThrow(/lacks its parts/);
  });
});
