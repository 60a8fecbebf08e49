import { CHESTXRAY14_CLASSES, z } from '@multichexnet/core';

/*
 * The configuration of `synthesize()`, one zod schema validated once by the factory. `z.input` is what users
 * pass (everything but `out` has a default), `z.output` the resolved config written to `synth.json`.
 */

const fraction = z.number().min(0).max(1);
const transferSyntax = z.enum(['jpeg-baseline', 'explicit-vr-little-endian']);

/** Per-label prevalence of the NIH set: a preset or a probability per label (missing labels take 0.08). */
const prevalence = z.union([z.enum(['balanced', 'nih']), z.partialRecord(z.enum(CHESTXRAY14_CLASSES), fraction)]);

/** Schema of the synthetic data generator's configuration. */
export const SynthConfigSchema = z
  .object({
    /** Output folder; one sub-folder per dataset (`nih/`, `rsna/`, `siim/`, `covid/`) plus `synth.json`. */
    out: z.string().min(1),
    /** Number of images per dataset (0 skips a dataset). */
    counts: z
      .object({
        nih: z.number().int().min(0).max(1_000_000).default(200),
        rsna: z.number().int().min(0).max(1_000_000).default(100),
        siim: z.number().int().min(0).max(1_000_000).default(100),
        covid: z.number().int().min(0).max(1_000_000).default(60),
      })
      .strict()
      .prefault({}),
    /** Image side in pixels (square films). Boxes, masks and DICOM Rows/Columns are in this size's pixels. */
    size: z.number().int().min(64).max(2048).multipleOf(16).default(256),
    /** Seed of every random choice: the same seed writes byte-identical files. */
    seed: z.number().int().min(0).max(0xffffffff).default(0),
    /**
     * Pixel space of the NIH / RSNA / SIIM boxes and masks. `image`: the written images' pixels (`size`).
     * `original`: the real files' 1024 x 1024 space, as in a downsampled copy of the real datasets whose label
     * files were left unchanged (RSNA boxes rounded to whole pixels, SIIM masks upsampled nearest-neighbour).
     * Each dataset folder's `synth.json` records the space used.
     */
    annotationSpace: z.enum(['image', 'original']).default('image'),
    /** JPEG quality of the DICOM and COVID JPEG files. */
    jpegQuality: z.number().int().min(50).max(100).default(95),
    nih: z
      .object({
        /** `2017`: Patient Gender + trailing comma (the Kaggle file MultiCheXNet used); `v2020`: Patient Sex +
         * trailing comma (NIH Box); `txv`: Patient Gender, no trailing comma (the torchxrayvision copy). */
        header: z.enum(['2017', 'v2020', 'txv']).default('2017'),
        /** `balanced`: 0.08 per label; `nih`: the real ChestX-ray14 rates; or a rate per label. */
        prevalence: prevalence.default('balanced'),
        /** At most this many labels per image (more are dropped at random). */
        maxFindings: z.number().int().min(1).max(14).default(3),
        /** Images per patient are 1..this (follow-ups share the patient's anatomy). */
        maxImagesPerPatient: z.number().int().min(1).max(50).default(4),
        /** Share of images with findings whose boxes go to BBox_List_2017.csv. */
        bboxFraction: fraction.default(0.3),
        /** Share of patients in test_list.txt (the rest in train_val_list.txt). */
        testFraction: fraction.default(0.2),
      })
      .strict()
      .prefault({}),
    rsna: z
      .object({
        /** Share of patients with Target = 1 (lung opacities with boxes). */
        positiveFraction: fraction.default(0.35),
        /** Share of negatives labelled `No Lung Opacity / Not Normal` (drawn with a non-opacity finding). */
        notNormalFraction: fraction.default(0.55),
        transferSyntax: transferSyntax.default('jpeg-baseline'),
      })
      .strict()
      .prefault({}),
    siim: z
      .object({
        /** Share of images with a pneumothorax. */
        positiveFraction: fraction.default(0.3),
        /** Share of positive images annotated with several RLE rows (instances). */
        multiInstanceFraction: fraction.default(0.2),
        /** Stage-1 style `' -1'` / `' 1 2 ...'` values (leading space); false writes `-1` like the TXV copy. */
        leadingSpace: z.boolean().default(true),
        transferSyntax: transferSyntax.default('jpeg-baseline'),
      })
      .strict()
      .prefault({}),
    covid: z
      .object({
        /** Share of patients with `Pneumonia/Viral/COVID-19`; the rest are other pneumonias and normals. */
        covidFraction: fraction.default(0.6),
        /** Share of X-ray rows in lateral view (`L`). */
        lateralFraction: fraction.default(0.06),
        /** Extra CT rows (`modality CT`, `folder volumes`, `.nii.gz`) that image loaders must skip. */
        ctVolumes: z.number().int().min(0).max(100).default(2),
      })
      .strict()
      .prefault({}),
    /** Called after each file with (done, total), e.g. for the CLI's progress bar. Not part of the resolved config. */
    onProgress: z
      .custom<(done: number, total: number) => void>((v) => typeof v === 'function', {
        message: 'must be a function (done, total) => void',
      })
      .optional(),
  })
  .strict();

/** What users pass to `synthesize()`. */
export type SynthConfigInput = z.input<typeof SynthConfigSchema>;
/** The resolved configuration. */
export type SynthConfig = z.output<typeof SynthConfigSchema>;
