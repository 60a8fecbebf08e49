// Writes the page's built-in examples: a few synthetic chest films from @multichexnet/synth's generator with a
// fixed seed, one per format the page reads (PNG, JPEG, JPEG Baseline DICOM, uncompressed DICOM), into
// public/examples/ with a manifest. Run by `npm run demo:examples` (the files are committed, so the page works
// on a fresh clone without running the generator).
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';
import {
  openCovid,
  openNih,
  openRsna,
  openSiim,
  PATHOLOGIES,
  readDicomMeta,
  sniffImageFormat,
  SUPPORTED_TRANSFER_SYNTAXES,
  type Dataset,
} from '@multichexnet/data';
import { synthesize, SYNTH_GENERATOR_VERSION } from '@multichexnet/synth';

const SEED = 20080197;
const SIZE = 512;
const appRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(appRoot, 'public', 'examples');

const work = await mkdtemp(join(tmpdir(), 'demo-examples-'));
try {
  await synthesize({
    out: work,
    size: SIZE,
    seed: SEED,
    counts: { nih: 16, rsna: 8, siim: 8, covid: 8 },
    rsna: { transferSyntax: 'jpeg-baseline', positiveFraction: 0.6 },
    siim: { transferSyntax: 'explicit-vr-little-endian', positiveFraction: 0.6 },
    covid: { lateralFraction: 0, ctVolumes: 0 },
  });
  const findings = (labels: Float32Array): string[] => PATHOLOGIES.filter((_, k) => labels[k] === 1);
  const first = (ds: Dataset, want: (labels: Float32Array, file: string) => boolean): number => {
    const i = ds.entries.findIndex((e) => want(e.labels, e.file));
    if (i < 0) throw new Error(`no suitable ${ds.source} example with seed ${SEED}`);
    return i;
  };
  const nih = await openNih({ root: join(work, 'nih') });
  const rsna = await openRsna({ root: join(work, 'rsna') });
  const siim = await openSiim({ root: join(work, 'siim') });
  const covid = await openCovid({ root: join(work, 'covid') });
  const picks = [
    {
      id: 'nih-png',
      title: 'Synthetic NIH film',
      ds: nih,
      file: 'nih.png',
      i: first(nih, (l) => findings(l).length >= 2),
    },
    {
      id: 'rsna-dicom',
      title: 'Synthetic RSNA pneumonia',
      ds: rsna,
      file: 'rsna-pneumonia.dcm',
      i: first(rsna, (l) => findings(l).includes('Pneumonia')),
    },
    {
      id: 'siim-dicom',
      title: 'Synthetic SIIM pneumothorax',
      ds: siim,
      file: 'siim-pneumothorax.dcm',
      i: first(siim, (l) => findings(l).includes('Pneumothorax')),
    },
    {
      id: 'covid-jpeg',
      title: 'Synthetic COVID-19 film',
      ds: covid,
      file: 'covid.jpg',
      i: first(covid, (l, f) => findings(l).includes('COVID-19') && /\.jpe?g$/i.test(f)),
    },
  ];
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const manifest = {
    generator: '@multichexnet/synth synthesize',
    generatorVersion: SYNTH_GENERATOR_VERSION,
    seed: SEED,
    size: SIZE,
    examples: [] as { id: string; title: string; format: string; file: string; findings: string[] }[],
  };
  for (const p of picks) {
    const entry = p.ds.entry(p.i);
    const from = join(p.ds.root, entry.file);
    const bytes = new Uint8Array(await readFile(from));
    // The label the page shows comes from the bytes, not from the name the file is given here.
    const kind = sniffImageFormat(bytes, from);
    const format =
      kind === 'dicom'
        ? `DICOM (${SUPPORTED_TRANSFER_SYNTAXES[readDicomMeta(bytes, from).transferSyntaxUid]?.replace(/ \(.*\)$/, '') ?? 'other'})`
        : kind === 'png'
          ? 'PNG'
          : kind === 'jpeg'
            ? 'JPEG'
            : 'unknown';
    if (!p.file.endsWith(kind === 'jpeg' ? '.jpg' : kind === 'png' ? '.png' : '.dcm'))
      throw new Error(`${from} is ${format}, not what ${p.file} says`);
    await copyFile(from, join(outDir, p.file));
    manifest.examples.push({ id: p.id, title: p.title, format, file: p.file, findings: findings(entry.labels) });
  }
  await writeFile(join(outDir, 'examples.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`wrote ${picks.length} examples to ${outDir}`);
} finally {
  await rm(work, { recursive: true, force: true });
}
