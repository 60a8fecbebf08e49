import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage, fitSample, resolvePreprocessConfig, type DecodedImage, type PreprocessConfigInput } from '@multichexnet/data';

/**
 * The PyTorch side of the parity tests: `torch_reference.py` run once per content (script + films) by Debian's
 * `/usr/bin/python3`, its checkpoints and reference probabilities cached in a temp folder that every test file of a
 * run shares (the CLI's tests use it too).
 */

/** Debian's interpreter, which has python3-torch and python3-torchvision (the first python3 on PATH may not). */
export const PYTHON = '/usr/bin/python3';
export const SCRIPT = fileURLToPath(new URL('./torch_reference.py', import.meta.url));
/** `<repo>/../shared/realdata`: real films, read in place. */
export const REALDATA = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..', '..', 'shared', 'realdata');
/** One PNG (NIH), one JPEG (COVID-19 collection), the SIIM DICOM and its MONOCHROME1 twin. */
export const FILMS = ['00000001_000.png', 'covid-19-pneumonia-58-prior.jpg', '1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm', 'Fake_MONOHR1.dcm'] as const;
/** The network input side of every reference model. */
export const SIZE = 224;

/** What torch_reference.py writes to reference.json. */
export interface Reference {
  torch: string;
  torchvision: { probs: number[][]; spread: number[] };
  chexnet: { probs: number[][]; probsFolded: number[][]; spread: number[] };
  xrv: { probs: number[][]; opThreshs: (number | null)[]; opNorm: number[][]; spread: number[] };
}

/** Films decoded by @multichexnet/data, as every importer test reads them. */
export function decodeFilms(): DecodedImage[] {
  return FILMS.map((f) => decodeImage(readFileSync(join(REALDATA, f)), f));
}

/** A film fitted (crop, resize, quantisation) by @multichexnet/data, as grey values in [0, 1]: what PyTorch is fed. */
export function fittedGrey(image: DecodedImage, preprocess: PreprocessConfigInput): Float32Array {
  const f = fitSample({ image }, resolvePreprocessConfig(preprocess));
  return Float32Array.from(f.image, (v) => v / f.imageScale);
}

/** Whether Debian's torch is importable (the parity tests fail, not skip, without it: see .ci/system-deps). */
export function torchAvailable(): { ok: boolean; why: string } {
  const r = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  return { ok: r.status === 0, why: r.stderr || r.error?.message || '' };
}

/**
 * Builds (or reuses) the reference folder: checkpoints (`torchvision.pth/.safetensors`, `chexnet.pth.tar/.safetensors`,
 * `xrv.pth/.safetensors`, `resnet50.pth`, `densenet169.pth`, `module.pth`, `legacy.pth`) and `reference.json`.
 * `imagenet` and `xrv` are the fitted grey films of the two preprocessings (centre crop 0.875 and 1).
 */
export function torchReference(imagenet: Float32Array[], xrv: Float32Array[]): { dir: string; ref: Reference } {
  const n = imagenet.length;
  const inputs = new Float32Array(2 * n * SIZE * SIZE);
  [...imagenet, ...xrv].forEach((g, i) => inputs.set(g, i * SIZE * SIZE));
  const bytes = new Uint8Array(inputs.buffer);
  const key = createHash('sha256').update(readFileSync(SCRIPT)).update(bytes).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `multichexnet-torch-reference-${key}`);
  if (!existsSync(join(dir, 'reference.json'))) {
    const work = `${dir}.tmp-${process.pid}`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'inputs.f32'), bytes);
    const r = spawnSync(PYTHON, [SCRIPT, 'make', work, join(work, 'inputs.f32'), String(n), String(SIZE)], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`${SCRIPT} failed (${r.status}): ${r.stderr || r.error?.message}`);
    try {
      renameSync(work, dir);
    } catch {
      rmSync(work, { recursive: true, force: true }); // another test file of this run finished first: use its folder
    }
  }
  return { dir, ref: JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Reference };
}

/** `torch_reference.py read FILE`: the numpy reader's view of a safetensors file. */
export function readWithNumpy(file: string): { metadata: Record<string, string>; tensors: Record<string, { shape: number[]; sum: number; first: number | null }> } {
  const r = spawnSync(PYTHON, [SCRIPT, 'read', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`numpy reader failed on ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ReturnType<typeof readWithNumpy>;
}
