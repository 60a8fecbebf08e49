import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import dcmjsModule from 'dcmjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyModelBytes } from '@multichexnet/runtime';
import type { Gallery } from '../src/report/report-data';
import { lines } from './helpers';
import { THREE_HEADS, mtlPhase, tinyPlan } from './plans';
import { finished, runChild, spawnCli, synthesize, type ChildResult } from './reliability-helpers';

/*
 * No PHI leaves a DICOM. The whole flow runs as users run it, each verb in its own process (synth -> train ->
 * eval -> export -> predict -> report) over DICOMs carrying known fake PHI: the SYNTH-marked values the
 * generator writes, and PS3.15 identifying attributes rewritten here with distinctive values (PatientName,
 * PatientID, PatientBirthDate, OtherPatientIDs, PatientAddress, InstitutionName, AccessionNumber,
 * ReferringPhysicianName, OperatorsName, StationName, StudyID, StudyDescription, SeriesDescription and the
 * Study / Series / SOP Instance UIDs). Every file written under the run folder, the exported model, the predict
 * outputs and overlays, the audit trail of `serve` (the films posted to it under file names made of the PHI),
 * and every byte of stdout and stderr are scanned for each value: exact,
 * case-insensitive, JSON-escaped, HTML-escaped, and with the name separator ^ as a space.
 * The datasets' join keys (RSNA patientId, SIIM ImageId, from the label CSVs) are not PHI by the dataset's
 * design, but files meant to be shared (gallery.json, report.html) name images by a pseudonym all the same.
 */

interface DcmElement {
  vr: string;
  Value?: unknown[];
}
interface DcmDict {
  dict: Record<string, DcmElement>;
  meta: Record<string, DcmElement>;
  write(): ArrayBuffer;
}
// dcmjs ships no type declarations; this is the part of its API the test uses.
const dcmjs = dcmjsModule as unknown as {
  data: { DicomMessage: { readFile(buffer: ArrayBuffer): DcmDict } };
  log: { setLevel(level: string): void };
};
// The generator writes PatientAge as the real files do ("62", no unit): dcmjs logs that as an error on every write.
dcmjs.log.setLevel('silent');

const readDicom = (file: string): DcmDict => {
  const b = readFileSync(file);
  return dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
};

/** The identifying attributes rewritten here (tag, VR, keyword) and the value each gets in file k. */
const CRAFTED: { tag: string; vr: string; keyword: string; value: (k: number) => string }[] = [
  { tag: '00100010', vr: 'PN', keyword: 'PatientName', value: (k) => `QXLEAKNAME^O'BRIEN^PATIENT${k}` },
  { tag: '00100020', vr: 'LO', keyword: 'PatientID', value: (k) => `QXPID-7731-${k}` },
  { tag: '00100030', vr: 'DA', keyword: 'PatientBirthDate', value: (k) => `1887052${k}` },
  { tag: '00101000', vr: 'LO', keyword: 'OtherPatientIDs', value: (k) => `QXOTHERID-5510${k}` },
  { tag: '00101040', vr: 'LO', keyword: 'PatientAddress', value: (k) => `${k}2 QXLEAK LANE, NOWHERESVILLE` },
  { tag: '00080080', vr: 'LO', keyword: 'InstitutionName', value: (k) => `QXLEAK St Elsewhere & Co Infirmary ${k}` },
  { tag: '00080050', vr: 'SH', keyword: 'AccessionNumber', value: (k) => `QXACC9021${k}` },
  { tag: '00080090', vr: 'PN', keyword: 'ReferringPhysicianName', value: (k) => `QXREFERRER^HOUSE^DR${k}` },
  { tag: '00081070', vr: 'PN', keyword: 'OperatorsName', value: (k) => `QXOPERATOR^TECH${k}` },
  { tag: '00081010', vr: 'SH', keyword: 'StationName', value: (k) => `QXSTATION${k}` },
  { tag: '00200010', vr: 'SH', keyword: 'StudyID', value: (k) => `QXSTUDY${k}` },
  { tag: '00081030', vr: 'LO', keyword: 'StudyDescription', value: (k) => `QXLEAK <chest> study "${k}"` },
  { tag: '0008103E', vr: 'LO', keyword: 'SeriesDescription', value: (k) => `QXLEAK series ${k}` },
  { tag: '0020000D', vr: 'UI', keyword: 'StudyInstanceUID', value: (k) => `2.25.3141592653589793238462643383279${k}` },
  { tag: '0020000E', vr: 'UI', keyword: 'SeriesInstanceUID', value: (k) => `2.25.2718281828459045235360287471352${k}` },
  { tag: '00080018', vr: 'UI', keyword: 'SOPInstanceUID', value: (k) => `2.25.1618033988749894848204586834365${k}` },
];

/** Rewrites the identifying attributes of a DICOM with the values of file k (MediaStorageSOPInstanceUID too). */
function craft(src: string, dst: string, k: number): void {
  const d = readDicom(src);
  for (const c of CRAFTED) {
    const v = c.value(k);
    d.dict[c.tag] = { vr: c.vr, Value: [c.vr === 'PN' ? { Alphabetic: v } : v] };
  }
  d.meta['00020003'] = { vr: 'UI', Value: [CRAFTED.find((c) => c.keyword === 'SOPInstanceUID')!.value(k)] };
  writeFileSync(dst, new Uint8Array(d.write()));
}

/** Every file under a folder. */
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** The forms a value could take in a text or binary output. */
function variants(v: string): string[] {
  const html = v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return [
    ...new Set([
      v,
      JSON.stringify(v).slice(1, -1),
      v.replace(/\^/g, ' '),
      html,
      html.replace(/'/g, '&#39;'),
      html.replace(/'/g, '&#x27;'),
    ]),
  ].map((x) => x.toLowerCase());
}

/** Where any PHI value occurs in any of the haystacks (case-insensitive). */
function findLeaks(haystacks: { name: string; text: string }[], values: readonly string[]): string[] {
  const needles = values.flatMap((v) => variants(v).map((n) => ({ v, n })));
  const hits: string[] = [];
  for (const h of haystacks) {
    const low = h.text.toLowerCase();
    for (const { v, n } of needles) if (low.includes(n)) hits.push(`${h.name}: ${JSON.stringify(v)}`);
  }
  return hits;
}

let dir: string;
const runs: { name: string; r: ChildResult }[] = [];
let phiValues: string[];
let joinKeys: string[];
const FILES_CRAFTED = 6;
/** A serve API token (the audit trail must name its holder, never the token). */
const TOKEN = '5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee0';
/** SHA-256 of each film posted to `serve`, in order. */
const posted: string[] = [];

const PLAN = tinyPlan('privacy', 6, [mtlPhase(3)], THREE_HEADS);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcx-cli-phi-'));
  const data = await synthesize(dir, 'data', { nih: 16, rsna: 16, siim: 16 }, 12);
  const rsna = walk(join(data, 'rsna'))
    .filter((f) => f.endsWith('.dcm'))
    .sort();
  const siim = walk(join(data, 'siim'))
    .filter((f) => f.endsWith('.dcm'))
    .sort();
  // Crafted PHI inside training DICOMs (file names, the datasets' join keys, unchanged) ...
  const targets = [...rsna.slice(0, FILES_CRAFTED / 2), ...siim.slice(0, FILES_CRAFTED / 2)];
  targets.forEach((f, k) => craft(f, f, k));
  // ... and in files given to predict under names that say nothing.
  mkdirSync(join(dir, 'films'));
  targets.forEach((f, k) => copyFileSync(f, join(dir, 'films', `film-${k}.dcm`)));
  // Every PHI value on disk: the crafted ones, and the generator's SYNTH-marked ones and UIDs read back from every
  // file.
  const values = new Set<string>();
  for (let k = 0; k < FILES_CRAFTED; k++) for (const c of CRAFTED) values.add(c.value(k));
  for (const f of [...rsna, ...siim]) {
    const d = readDicom(f);
    for (const [tag, el] of Object.entries(d.dict)) {
      const v = el.Value?.[0];
      const s =
        typeof v === 'string'
          ? v
          : typeof v === 'object' && v !== null && 'Alphabetic' in v
            ? String((v as { Alphabetic: string }).Alphabetic)
            : null;
      if (s === null) continue;
      if (s.includes('SYNTH') || (['0020000D', '0020000E'].includes(tag.toUpperCase()) && rsna.includes(f)))
        values.add(s.trim());
    }
  }
  phiValues = [...values];
  // The join keys: RSNA patientId and SIIM ImageId from the label CSVs, NIH image names.
  const csvColumn = (file: string): string[] =>
    lines(readFileSync(file, 'utf8'))
      .slice(1)
      .map((l) => l.split(',')[0]!.trim());
  joinKeys = [
    ...new Set([
      ...csvColumn(join(data, 'rsna', 'stage_2_train_labels.csv')),
      ...csvColumn(join(data, 'siim', 'train-rle.csv')),
      ...csvColumn(join(data, 'nih', 'Data_Entry_2017.csv')),
    ]),
  ].filter((k) => k.length >= 8);
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(PLAN));
  const steps: [string, string[]][] = [
    ['train', ['train', 'plan.json', '--data', 'data', '--run', 'runs/privacy', '--json']],
    ['eval', ['eval', 'runs/privacy', '--json']],
    ['export', ['export', 'runs/privacy', '--out', 'exported', '--json']],
    [
      'predict-onnx',
      [
        'predict',
        '--model',
        'runs/privacy/model.onnx',
        'films',
        join('data', 'rsna'),
        '--overlay',
        'overlays',
        '--out',
        'predictions.json',
      ],
    ],
    ['predict-pipeline', ['predict', '--model', 'runs/privacy', 'films', '--json', '--overlay', 'overlays-pipeline']],
    ['report', ['report', 'runs/privacy', '--json']],
  ];
  for (const [name, args] of steps) {
    const r = await runChild(dir, args);
    expect(r.code, `${name}: ${r.err}`).toBe(0);
    runs.push({ name, r });
  }
  runs.push({ name: 'serve', r: await serveFilms() });
}, 300_000);

/**
 * `multichexnet serve` on the trained run with a token and an audit log: each film is posted as a multipart file
 * named after its patient (the crafted PatientName) and as a raw body, and once without the token; then SIGTERM.
 */
async function serveFilms(): Promise<ChildResult> {
  writeFileSync(join(dir, 'tokens.txt'), `reading-room:${TOKEN}\n`, { mode: 0o600 });
  const child = spawnCli(dir, [
    'serve',
    '--model',
    'runs/privacy',
    '--port',
    '0',
    '--threads',
    '1',
    '--tokens-file',
    'tokens.txt',
    '--audit-log',
    'audit.jsonl',
  ]);
  const done = finished(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const t0 = Date.now();
  while (!/listening on http:\/\/127\.0\.0\.1:\d+/.test(err)) {
    if (child.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`serve did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err)![1]!;
  const auth = { authorization: `Bearer ${TOKEN}` };
  try {
    for (let k = 0; k < FILES_CRAFTED; k++) {
      const film = readFileSync(join(dir, 'films', `film-${k}.dcm`));
      const form = new FormData();
      form.append('file', new Blob([film], { type: 'application/dicom' }), `${CRAFTED[0]!.value(k)}.dcm`);
      const a = await fetch(`${url}/v1/predict`, { method: 'POST', headers: auth, body: form });
      const b = await fetch(`${url}/v1/overlay`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/dicom' },
        body: film,
      });
      expect([a.status, b.status]).toEqual([200, 200]);
      await Promise.all([a.arrayBuffer(), b.arrayBuffer()]);
      posted.push(createHash('sha256').update(film).digest('hex'), createHash('sha256').update(film).digest('hex'));
    }
    expect(
      (
        await fetch(`${url}/v1/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/dicom' },
          body: readFileSync(join(dir, 'films', 'film-0.dcm')),
        })
      ).status,
    ).toBe(401);
  } finally {
    child.kill('SIGTERM');
  }
  const r = await done;
  expect(r.code, r.err).toBe(0);
  return r;
}

describe('PHI in DICOM tags never reaches an output', () => {
  it('the scan finds the values where they are (the input DICOMs): it is not blind', () => {
    expect(phiValues.length).toBeGreaterThan(CRAFTED.length * FILES_CRAFTED);
    const film = { name: 'films/film-0.dcm', text: readFileSync(join(dir, 'films', 'film-0.dcm')).toString('latin1') };
    const found = findLeaks(
      [film],
      CRAFTED.map((c) => c.value(0)),
    );
    // Every crafted value of file 0 is in its bytes (PN values: ^ kept); the O'Brien name also case-insensitively.
    expect(found.length).toBeGreaterThanOrEqual(CRAFTED.length);
    expect(
      findLeaks(
        [film],
        phiValues.filter((v) => v.includes('SYNTH')),
      ).length,
    ).toBeGreaterThan(0);
  });

  it('no file under the run folder, the exported model, the predictions or overlays, and no stdout or stderr holds any of them', () => {
    const written = ['runs', 'exported', 'overlays', 'overlays-pipeline', 'predictions.json', 'audit.jsonl'].flatMap(
      (p) => (statSync(join(dir, p)).isDirectory() ? walk(join(dir, p)) : [join(dir, p)]),
    );
    expect(written.length).toBeGreaterThan(30);
    const haystacks = [
      ...written.map((f) => ({ name: relative(dir, f), text: readFileSync(f).toString('latin1') })),
      ...runs.flatMap(({ name, r }) => [
        { name: `${name} stdout`, text: r.out },
        { name: `${name} stderr`, text: r.err },
      ]),
    ];
    expect(findLeaks(haystacks, phiValues)).toEqual([]);
  });

  it("serve's audit trail has one line per request, naming the token holder and the upload's hash, never the token", () => {
    const audit = lines(readFileSync(join(dir, 'audit.jsonl'), 'utf8')).map(
      (l) =>
        JSON.parse(l) as {
          token: string | null;
          sha256: string | null;
          status: number;
          route: string;
          outcome: string;
          error: string | null;
        },
    );
    expect(audit.filter((a) => a.status === 200).map((a) => a.sha256)).toEqual(posted);
    expect(
      audit.filter((a) => a.status === 200).every((a) => a.token === 'reading-room' && a.outcome === 'answered'),
    ).toBe(true);
    expect(audit.at(-1)).toMatchObject({ status: 401, token: null, error: 'Unauthorized', sha256: null });
    expect(readFileSync(join(dir, 'audit.jsonl'), 'utf8')).not.toContain(TOKEN);
  });

  it('the ONNX metadata of every exported graph carries none of them', async () => {
    const models = [
      'runs/privacy/model.onnx',
      'runs/privacy/model.stage1.onnx',
      'runs/privacy/model.stage2.onnx',
      'exported/model.onnx',
    ];
    for (const m of models) {
      const { metadata } = await verifyModelBytes(new Uint8Array(readFileSync(join(dir, m))), m);
      expect(findLeaks([{ name: m, text: JSON.stringify(metadata) }], phiValues)).toEqual([]);
    }
  });

  it("gallery.json and report.html name images by pseudonym, never by the datasets' join keys", () => {
    expect(joinKeys.length).toBeGreaterThan(30);
    const gallery = JSON.parse(
      readFileSync(join(dir, 'runs', 'privacy', 'gallery', 'gallery.json'), 'utf8'),
    ) as Gallery;
    expect(gallery.items.length).toBeGreaterThan(0);
    for (const item of gallery.items) expect(item.id).toMatch(new RegExp(`^${item.source}-[0-9a-f]{12}$`));
    const shared = ['gallery/gallery.json', 'report.html', 'eval.json', 'eval-test.json', 'metrics.jsonl'].map((f) => ({
      name: f,
      text: readFileSync(join(dir, 'runs', 'privacy', f), 'utf8'),
    }));
    expect(findLeaks(shared, joinKeys)).toEqual([]);
  });
});
