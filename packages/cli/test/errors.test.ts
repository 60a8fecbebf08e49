import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_PLANS, PLAN_SIZES } from '@multichexnet/trainer';
import { VARIANTS } from '@multichexnet/experiments';
import { BUILTIN_PLAN_NAMES, PLAN_SIZE_NAMES, VARIANT_NAMES } from '../src/commands/names';
import { OWN_VERBS } from '../src/program';
import { describeError, exitCodeOf } from '../src/cli-error';
import { ConfigError, DataError } from '@multichexnet/core';
import { BUILT_BIN, cli, lines } from './helpers';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mcx-cli-errors-'));
});

describe('usage errors: one line on stderr, exit code 2, no stack', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'a mistyped flag',
      ['train', 'multichexnet-joint', '--rezume'],
      /unknown option '--rezume' \(did you mean --resume\?\)/,
    ],
    ['an unknown verb', ['trian'], /unknown command 'trian'/],
    ['a missing argument', ['eval'], /missing required argument 'run'/],
    ['a missing required option', ['predict', 'x.png'], /required option '-m, --model <path>' not specified/],
    ['a bad option value', ['synth', '--out', 'd', '--nih', 'ten'], /expected an integer >= 0, got "ten"/],
    ['a missing input file', ['predict', '--model', '.', 'no-such.png'], /no such file or folder: .*no-such\.png/],
    [
      'a mistyped flag next to a required one',
      ['predict', '--model', 'm.onnx', '--overlya', 'o', 'x.png'],
      /unknown option '--overlya' \(did you mean --overlay\?\)/,
    ],
    ['a missing model', ['predict', '--model', 'no-such-run', '.'], /no such model file or run folder: .*no-such-run/],
    [
      'a bad --ood policy',
      ['predict', '--model', 'm', '--ood', 'maybe', 'x.png'],
      /option '--ood <policy>' argument 'maybe' is invalid\. Allowed choices are refuse, flag, off/,
    ],
    ['a missing run folder', ['report', 'no-such-run'], /no such run folder: .*no-such-run/],
    [
      'a missing plan file',
      ['train', 'no-such-plan.json', '--data', '.'],
      /invalid training plan: \(root\): must be a built-in plan .* received ".*no-such-plan\.json"/,
    ],
    ['an unknown experiment', ['experiment', 'table9'], /unknown experiment "table9"/],
    [
      'a mistyped flag of a service verb',
      ['serve', '--model', 'm', '--prot', '80'],
      /unknown option '--prot' \(did you mean --port\?\)/,
    ],
    // Refused before the model is read (it does not exist here) or any port is bound.
    [
      'serve on a non-loopback address without tokens',
      ['serve', '--model', 'no-such-run', '--host', '0.0.0.0'],
      /invalid serve options: host: serving on a non-loopback address needs authentication: add API tokens with --tokens-file FILE \(lines name:token\) or MULTICHEXNET_TOKENS/,
    ],
    [
      'screening over plaintext Redis to another machine',
      ['screen', 'status', '--redis', 'redis://:pw@10.0.0.5:6379'],
      /invalid screen options: redis: a plaintext redis:\/\/ URL to another machine .* --allow-plaintext-redis .*; received "redis:\/\/:\*\*\*@10\.0\.0\.5:6379"/,
    ],
  ];
  for (const [what, argv, message] of cases) {
    it(what, async () => {
      const r = await cli(dir, ...argv);
      expect(r.code).toBe(2);
      expect(lines(r.err)).toHaveLength(1);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(r.out).toBe('');
    });
  }

  it('an invalid plan names the field, the rule and the value', async () => {
    const plan = join(dir, 'bad-plan.json');
    writeFileSync(
      plan,
      JSON.stringify({
        name: 'bad',
        model: { cls: {} },
        phases: [{ name: 'p', trainable: ['cls'], batches: [{ datasets: ['nih'], tasks: ['cls'] }], steps: 0 }],
      }),
    );
    const r = await cli(dir, 'train', plan, '--data', dir);
    expect(r.code).toBe(2);
    expect(lines(r.err)).toHaveLength(1);
    expect(r.err).toMatch(/phases\.0\.steps: must be > 0; received 0/);
  });
});

describe('runtime failures: exit code 1', () => {
  it('a file that is no image is a one-line DataError naming it', async () => {
    const bogus = join(dir, 'not-an-image.png');
    writeFileSync(bogus, 'hello');
    const model = join(dir, 'model.onnx');
    writeFileSync(model, 'not onnx');
    const r = await cli(dir, 'predict', '--model', model, bogus);
    expect(r.code).toBe(1);
    expect(lines(r.err)).toHaveLength(1);
    expect(r.err).toMatch(/model\.onnx/);
  });

  it("the service verbs keep their own -q (--queue) and --json: the CLI's flags do not shadow them", async () => {
    const r = await cli(dir, 'screen', 'status', '-q', 'some-queue', '--json', '--redis', 'redis://127.0.0.1:1');
    expect(r.code).toBe(1);
    expect(lines(r.err)).toHaveLength(1);
    expect(r.err).toMatch(/Cannot reach Redis/);
  });

  it('--debug adds the stack', async () => {
    const model = join(dir, 'model.onnx');
    writeFileSync(model, 'not onnx');
    const bogus = join(dir, 'not-an-image.png');
    writeFileSync(bogus, 'hello');
    const r = await cli(dir, '--debug', 'predict', '--model', model, bogus);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\n\s+at /);
  });

  it('maps error classes to exit codes and one-line messages', () => {
    const cfg = new ConfigError('synth config', [
      { path: 'size', rule: 'must be >= 64', received: '8' },
      { path: 'seed', rule: 'must be of type number', received: '"x"' },
    ]);
    expect(exitCodeOf(cfg)).toBe(2);
    expect(describeError(cfg)).toBe(
      'invalid synth config: size: must be >= 64; received 8; seed: must be of type number; received "x"',
    );
    const data = new DataError('Image format is not recognised', {
      file: 'a.png',
      expected: 'PNG, JPEG or DICOM',
      found: 'first bytes 68 65 6c 6c',
    });
    expect(exitCodeOf(data)).toBe(1);
    expect(describeError(data)).toBe(
      'Image format is not recognised (file a.png): expected PNG, JPEG or DICOM, found first bytes 68 65 6c 6c',
    );
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), {
      code: 'ENOENT',
      path: '/tmp/x',
    });
    expect(describeError(enoent)).toBe('no such file or folder: /tmp/x');
  });
});

describe('help and version', () => {
  it('every verb has --help with an example, exit code 0', async () => {
    for (const verb of OWN_VERBS) {
      const r = await cli(dir, verb, '--help');
      expect(r.code, verb).toBe(0);
      expect(r.out, verb).toMatch(new RegExp(`Usage: multichexnet ${verb}`));
      expect(r.out, verb).toMatch(/Examples?:\n {2}\$ multichexnet /);
    }
  });

  it('the root help lists every verb, the service ones included, and the exit codes', async () => {
    const r = await cli(dir, '--help');
    expect(r.code).toBe(0);
    for (const verb of [...OWN_VERBS, 'serve', 'screen']) expect(r.out).toMatch(new RegExp(`\\n  ${verb} `));
    expect(r.out).toMatch(/Exit codes: 0 ok, 1 runtime failure, 2 usage error/);
  });

  it('--version prints the package version', async () => {
    const { version } = await import('../src/version');
    const pkg = (await import('../package.json', { with: { type: 'json' } })).default as { version: string };
    const r = await cli(dir, '--version');
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(version);
    expect(version).toBe(pkg.version);
  });

  it("the names in the help texts are the trainer's and the experiments'", () => {
    expect([...BUILTIN_PLAN_NAMES]).toEqual([...BUILTIN_PLANS]);
    expect([...PLAN_SIZE_NAMES]).toEqual([...PLAN_SIZES]);
    expect([...VARIANT_NAMES]).toEqual([...VARIANTS]);
  });
});

describe.skipIf(BUILT_BIN === null)('the built bin (dist/bin.js)', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [BUILT_BIN!, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });

  it('exits 2 with one line for a mistyped flag and a missing file', () => {
    const a = run('predict', '--model', 'm.onnx', '--overlya', 'o', 'x.png');
    expect(a.status).toBe(2);
    expect(lines(a.stderr)).toEqual(["multichexnet: error: unknown option '--overlya' (did you mean --overlay?)"]);
    const b = run('predict', '--model', '.', 'no-such.png');
    expect(b.status).toBe(2);
    expect(lines(b.stderr)).toHaveLength(1);
    expect(b.stderr).toMatch(/^multichexnet: error: no such file or folder: .*no-such\.png/);
  });

  it('exits 0 on --help and --version', () => {
    expect(run('--version').status).toBe(0);
    const h = run('quickstart', '--help');
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/Usage: multichexnet quickstart/);
  });
});
