import { openEngine, type BackendChoice } from '../engine/create-engine';
import type { DemoEngine } from '../engine/demo-engine';
import { readModelFiles, type ModelFiles, type NamedBytes } from '../engine/model-files';
import { configureOrt } from '../engine/ort-env';
import { parseProvenance, type ModelProvenance } from '../engine/provenance';
import { openImage, type OpenedImage } from '../image/open-image';
import { byId, el, replaceChildren } from './dom';
import { renderModelInfo } from './model-panel';
import { renderProbabilities } from './probability-chart';
import { renderFindings, renderSummary } from './result-panels';
import { Viewer } from './viewer';

/** Where the build puts the bundled model and its provenance (public/model/). */
const BUNDLED_MODEL = 'model/model.onnx';
const BUNDLED_PROVENANCE = 'model/provenance.json';
const EXAMPLES = 'examples/examples.json';

interface Example {
  id: string;
  title: string;
  format: string;
  file: string;
  findings: string[];
}

type PageState = 'loading' | 'ready' | 'running' | 'done' | 'error' | 'no-model';

/** A user-facing message for any failure: a DataError's message already names file, field, expected and found. */
function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function fetchBytes(url: string): Promise<Uint8Array | null> {
  const res = await fetch(url);
  return res.ok ? new Uint8Array(await res.arrayBuffer()) : null;
}

async function readFiles(list: FileList | readonly File[]): Promise<NamedBytes[]> {
  return Promise.all(Array.from(list, async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
}

/**
 * Starts the page: configures onnxruntime-web to use the app's own WebAssembly files, opens the bundled model,
 * lists the examples and wires drag and drop, the file pickers and the overlay controls.
 */
export async function startApp(): Promise<void> {
  const { threads } = await configureOrt(document.baseURI);
  const viewer = new Viewer(byId<HTMLCanvasElement>('viewer-canvas'));
  const ui = {
    viewer: byId('viewer'),
    empty: byId('empty-state'),
    busy: byId('busy'),
    busyText: byId('busy-text'),
    title: byId('image-title'),
    error: byId('error'),
    summary: byId('summary'),
    probabilities: byId('probabilities'),
    findings: byId('findings'),
    imageFacts: byId('image-facts'),
    modelInfo: byId('model-info'),
    examples: byId('examples'),
    emptyExamples: byId('empty-examples'),
    useBundled: byId<HTMLButtonElement>('use-bundled'),
    gate: byId<HTMLInputElement>('toggle-gate'),
    ood: byId<HTMLInputElement>('toggle-ood'),
    backend: byId<HTMLSelectElement>('backend-choice'),
  };

  let engine: DemoEngine | null = null;
  let engineNote = '';
  let modelFiles: ModelFiles | null = null;
  let modelOrigin: 'bundled' | 'user' = 'bundled';
  let provenance: ModelProvenance | null = null;
  let bundled: ModelFiles | null = null;
  let current: OpenedImage | null = null;
  // Runs are queued so a second drop while the first runs cannot interleave their results.
  let queue: Promise<unknown> = Promise.resolve();

  const setState = (state: PageState): void => {
    document.body.dataset.state = state;
  };
  const busy = (text: string | null): void => {
    ui.busy.hidden = text === null;
    ui.busyText.textContent = text ?? '';
  };
  const showError = (e: unknown): void => {
    replaceChildren(ui.error, el('strong', {}, 'Could not finish: '), describe(e));
    ui.error.hidden = false;
  };
  const clearError = (): void => {
    ui.error.hidden = true;
  };
  const serial = <T>(task: () => Promise<T>): Promise<T | undefined> => {
    const next = queue.then(task, task).catch((e: unknown) => {
      setState('error');
      busy(null);
      showError(e);
      return undefined;
    });
    queue = next;
    return next;
  };

  const renderModel = (): void => {
    if (engine === null || modelFiles === null) return;
    renderModelInfo(ui.modelInfo, {
      origin: modelOrigin,
      name: modelOrigin === 'bundled' ? `quickstart · ${modelFiles.name}` : modelFiles.name,
      kind: modelFiles.kind,
      sizeBytes: modelFiles.sizeBytes,
      checksum: modelFiles.checksum,
      metadata: engine.metadata,
      loadMs: engine.loadMs,
      provenance,
    });
    ui.useBundled.hidden = modelOrigin === 'bundled' || bundled === null;
  };

  const runCurrent = async (): Promise<void> => {
    if (current === null) return;
    if (engine === null) {
      setState('no-model');
      return;
    }
    setState('running');
    busy('Running the model…');
    const result = await engine.run(current.image, { gated: ui.gate.checked, refuseOod: ui.ood.checked });
    viewer.setResult(result);
    const gateClasses = engine.metadata.gate?.source === 'cls' ? engine.metadata.gate.classes : [];
    renderSummary(ui.summary, result, { backend: engine.backend, threads, note: engineNote });
    // with class activation maps, each class row toggles its map over the film
    const showProbabilities = (): void =>
      renderProbabilities(
        ui.probabilities,
        result.probabilities,
        gateClasses,
        result.cams === null
          ? null
          : {
              shown: viewer.camClass,
              toggle: (name: string) => {
                viewer.setCam(viewer.camClass === name ? null : name);
                showProbabilities();
              },
            },
      );
    showProbabilities();
    renderFindings(
      ui.findings,
      result,
      () => {
        ui.gate.checked = false;
        void serial(runCurrent);
      },
      // a refused image: "Show findings anyway" switches refusal to flagging (the switch stays off until turned on)
      () => {
        ui.ood.checked = false;
        void serial(runCurrent);
      },
    );
    busy(null);
    setState('done');
  };

  const useModel = async (files: ModelFiles, origin: 'bundled' | 'user'): Promise<void> => {
    setState('loading');
    busy('Opening the model…');
    const opened = await openEngine(files, ui.backend.value as BackendChoice);
    await engine?.dispose();
    engine = opened.engine;
    engineNote = opened.note;
    modelFiles = files;
    modelOrigin = origin;
    renderModel();
    busy(null);
    clearError();
    setState('ready');
    await runCurrent();
  };

  const openImageBytes = async (bytes: Uint8Array, name: string, drawnWith?: string[]): Promise<void> => {
    clearError();
    const opened = await openImage(bytes, name);
    if (drawnWith !== undefined)
      opened.facts.push({ label: 'Drawn with', value: drawnWith.length > 0 ? drawnWith.join(', ') : 'no findings' });
    current = opened;
    ui.empty.hidden = true;
    ui.viewer.classList.add('has-image');
    ui.title.textContent = `${opened.title} · ${opened.image.width} × ${opened.image.height}`;
    ui.title.classList.remove('muted');
    viewer.setImage(opened.image);
    replaceChildren(
      ui.imageFacts,
      el(
        'dl',
        { class: 'kv-list kv-grid', 'data-testid': 'image-facts' },
        ...opened.facts.map((f) => el('div', { class: 'kv' }, el('dt', {}, f.label), el('dd', {}, f.value))),
      ),
    );
    await runCurrent();
  };

  const openDropped = async (files: NamedBytes[]): Promise<void> => {
    const models = files.filter((f) => /\.onnx$/i.test(f.name));
    if (models.length > 0) {
      await useModel(await readModelFiles(models), 'user');
      return;
    }
    const image = files[0];
    if (image !== undefined) await openImageBytes(image.bytes, image.name);
  };

  // --- wiring
  for (const id of ['image-input', 'image-input-2']) {
    const input = byId<HTMLInputElement>(id);
    input.addEventListener('change', () => {
      // Copied before the reset below: input.files is live and emptied by it.
      const files = Array.from(input.files ?? []);
      input.value = '';
      if (files.length > 0) void serial(async () => openDropped(await readFiles(files)));
    });
  }
  const modelInput = byId<HTMLInputElement>('model-input');
  modelInput.addEventListener('change', () => {
    const files = Array.from(modelInput.files ?? []);
    modelInput.value = '';
    if (files.length > 0) void serial(async () => useModel(await readModelFiles(await readFiles(files)), 'user'));
  });
  ui.useBundled.addEventListener('click', () => {
    if (bundled !== null) void serial(() => useModel(bundled!, 'bundled'));
  });
  ui.backend.addEventListener('change', () => {
    if (modelFiles !== null) void serial(() => useModel(modelFiles!, modelOrigin));
  });
  ui.gate.addEventListener('change', () => void serial(runCurrent));
  ui.ood.addEventListener('change', () => void serial(runCurrent));
  byId<HTMLInputElement>('toggle-boxes').addEventListener('change', (e) =>
    viewer.setOptions({ boxes: (e.target as HTMLInputElement).checked }),
  );
  byId<HTMLInputElement>('toggle-mask').addEventListener('change', (e) =>
    viewer.setOptions({ mask: (e.target as HTMLInputElement).checked }),
  );
  byId<HTMLInputElement>('opacity').addEventListener('input', (e) =>
    viewer.setOptions({ opacity: Number((e.target as HTMLInputElement).value) }),
  );

  // The whole page accepts drops, so a file dropped beside the viewer is not opened by the browser instead.
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    ui.viewer.classList.add('drag-over');
  });
  document.addEventListener('dragleave', (e) => {
    if (e.relatedTarget === null) ui.viewer.classList.remove('drag-over');
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    ui.viewer.classList.remove('drag-over');
    const files = Array.from(e.dataTransfer?.files ?? []);
    if (files.length > 0) void serial(async () => openDropped(await readFiles(files)));
  });

  // --- examples (small, same-origin files) and the bundled model
  const examplesLoaded = (async () => {
    const res = await fetch(EXAMPLES);
    if (!res.ok) return;
    const list = ((await res.json()) as { examples: Example[] }).examples;
    for (const ex of list) {
      const bytes = await fetchBytes(`examples/${ex.file}`);
      if (bytes === null) continue;
      const thumb = el('canvas', { class: 'thumb', width: 96, height: 96 });
      const opened = await openImage(bytes, ex.file);
      drawThumb(thumb, opened);
      const button = el(
        'button',
        { class: 'example', type: 'button', 'data-example': ex.id },
        thumb,
        el('span', { class: 'example-title' }, ex.title),
        el('span', { class: 'example-format' }, ex.format),
        el(
          'span',
          { class: 'example-truth' },
          ex.findings.length > 0 ? `drawn with: ${ex.findings.join(', ')}` : 'drawn without findings',
        ),
      );
      const open = (): void => void serial(() => openImageBytes(bytes, ex.file, ex.findings));
      button.addEventListener('click', open);
      ui.examples.append(button);
      // The same example as a chip on the empty viewer, so a first visit can start in one click.
      const chip = el(
        'button',
        { class: 'empty-chip', type: 'button' },
        `${ex.title.replace(/^Synthetic /, '')} · ${ex.format}`,
      );
      chip.addEventListener('click', open);
      if (ui.emptyExamples.childElementCount === 0)
        ui.emptyExamples.append(el('span', { class: 'empty-or' }, 'or try a synthetic example'));
      ui.emptyExamples.append(chip);
    }
  })().catch(showError);

  await serial(async () => {
    const [bytes, prov] = await Promise.all([
      fetchBytes(BUNDLED_MODEL),
      fetch(BUNDLED_PROVENANCE)
        .then((r) => (r.ok ? r.json() : null))
        .catch(() => null),
    ]);
    provenance = parseProvenance(prov);
    if (bytes === null) {
      replaceChildren(
        ui.modelInfo,
        el(
          'p',
          { class: 'muted' },
          'This build has no bundled model (run ',
          el('code', {}, 'npm run demo:model'),
          '). Load your own model.onnx below.',
        ),
      );
      setState('no-model');
      return;
    }
    bundled = await readModelFiles([{ name: 'model.onnx', bytes }]);
    await useModel(bundled, 'bundled');
  });
  await examplesLoaded;
}

/** A square thumbnail of an opened image (centre crop). */
function drawThumb(canvas: HTMLCanvasElement, opened: OpenedImage): void {
  const { image } = opened;
  const src = document.createElement('canvas');
  src.width = image.width;
  src.height = image.height;
  const sctx = src.getContext('2d')!;
  const rgba = sctx.createImageData(image.width, image.height);
  const scale = 255 / image.maxValue;
  for (let i = 0; i < image.data.length; i++) {
    const v = Math.round(image.data[i]! * scale);
    rgba.data.fill(v, i * 4, i * 4 + 3);
    rgba.data[i * 4 + 3] = 255;
  }
  sctx.putImageData(rgba, 0, 0);
  const side = Math.min(image.width, image.height);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(
    src,
    (image.width - side) / 2,
    (image.height - side) / 2,
    side,
    side,
    0,
    0,
    canvas.width,
    canvas.height,
  );
}
