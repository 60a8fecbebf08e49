import { parseConfig } from '@multichexnet/core';
import { datasetManifest } from './annotation-space';
import { SynthConfigSchema, type SynthConfig, type SynthConfigInput } from './config';
import { writeCovid, type CovidSummary } from './covid-writer';
import { NIH_INDEX_FILE, writeNih, type NihSummary } from './nih-writer';
import { createFileSink } from './output';
import { writeRsna, type RsnaSummary } from './rsna-writer';
import { writeSiim, type SiimSummary } from './siim-writer';

/** Version of the generator written into `synth.json`; bump when the same seed would draw different files. */
export const SYNTH_GENERATOR_VERSION = 1;

/** Where each dataset was written and what it holds. */
export interface SynthResult {
  /** The resolved configuration (also written to `<out>/synth.json`). */
  config: Omit<SynthConfig, 'onProgress'>;
  /** Dataset folders, absolute or as given in `out`. */
  paths: { nih: string; rsna: string; siim: string; covid: string; manifest: string };
  nih: NihSummary;
  rsna: RsnaSummary;
  siim: SiimSummary;
  covid: CovidSummary;
  /** Wall time in milliseconds. */
  millis: number;
}

/**
 * Writes a synthetic copy of the four datasets, in their real on-disk formats, under `out`:
 * `nih/` (ChestX-ray14), `rsna/` (Pneumonia Detection, DICOM), `siim/` (ACR Pneumothorax, DICOM + RLE) and
 * `covid/` (COVID-19 image collection), plus `synth.json`. Every random choice comes from `seed`, so the
 * same configuration writes byte-identical files. The config is validated once (ConfigError on a bad field).
 * Node only.
 *
 * @example
 * const result = await synthesize({ out: 'data/synth', counts: { nih: 200, rsna: 100, siim: 100, covid: 60 },
 *   size: 256, seed: 7, onProgress: (done, total) => bar.update(done / total) });
 * // result.nih -> { images: 200, patients: 118, boxes: 61 }; files in data/synth/nih/images/00000001_000.png ...
 */
export async function synthesize(input: SynthConfigInput): Promise<SynthResult> {
  const cfg = parseConfig(SynthConfigSchema, input, 'synth config');
  const { onProgress, ...config } = cfg;
  const started = Date.now();
  const path = await import('node:path');
  const total = cfg.counts.nih + cfg.counts.rsna + cfg.counts.siim + cfg.counts.covid;
  let done = 0;
  const tick = (): void => {
    done++;
    onProgress?.(done, total);
  };
  const paths = {
    nih: path.join(cfg.out, 'nih'),
    rsna: path.join(cfg.out, 'rsna'),
    siim: path.join(cfg.out, 'siim'),
    covid: path.join(cfg.out, 'covid'),
    manifest: path.join(cfg.out, 'synth.json'),
  };
  const sinks = {
    nih: await createFileSink(paths.nih),
    rsna: await createFileSink(paths.rsna),
    siim: await createFileSink(paths.siim),
    covid: await createFileSink(paths.covid),
  };
  const nih = await writeNih(cfg, sinks.nih, tick);
  const rsna = await writeRsna(cfg, sinks.rsna, tick);
  const siim = await writeSiim(cfg, sinks.siim, tick);
  const covid = await writeCovid(cfg, sinks.covid, tick);
  for (const name of ['nih', 'rsna', 'siim', 'covid'] as const) {
    await sinks[name].write('synth.json', datasetManifest(cfg, name, SYNTH_GENERATOR_VERSION));
  }
  // The manifest leaves out `out`, so a set is byte-identical wherever it is written (and relocatable).
  const { out: _out, ...relocatable } = config;
  const manifest = {
    generator: '@multichexnet/synth synthesize',
    generatorVersion: SYNTH_GENERATOR_VERSION,
    config: relocatable,
    files: {
      nih: {
        index: NIH_INDEX_FILE[cfg.nih.header],
        boxes: 'BBox_List_2017.csv',
        images: 'images/',
        splits: ['train_val_list.txt', 'test_list.txt'],
      },
      rsna: {
        labels: 'stage_2_train_labels.csv',
        classes: 'stage_2_detailed_class_info.csv',
        images: 'stage_2_train_images/',
      },
      siim: { labels: 'train-rle.csv', images: 'dicom-images-train/' },
      covid: { metadata: 'metadata.csv', images: 'images/', volumes: 'volumes/' },
    },
    summary: { nih, rsna, siim, covid },
  };
  // Deliberately no timestamp: the manifest is as reproducible as the data.
  await (await createFileSink(cfg.out)).write('synth.json', `${JSON.stringify(manifest, null, 2)}\n`);
  return { config, paths, nih, rsna, siim, covid, millis: Date.now() - started };
}
