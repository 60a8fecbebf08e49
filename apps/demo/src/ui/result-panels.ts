import type { DemoResult, ExecutionBackend } from '../engine/demo-result';
import { el, formatMs, formatPercent, replaceChildren } from './dom';

const BACKEND_NAMES: Record<ExecutionBackend, string> = { webgpu: 'WebGPU', wasm: 'WebAssembly' };

/** Where the run happened, for the summary. */
export interface RunPlace {
  backend: ExecutionBackend;
  threads: number;
  note: string;
}

/** Gate decision, inference time and backend of one run. */
export function renderSummary(container: HTMLElement, r: DemoResult, place: RunPlace): void {
  const gate = r.gate;
  const gateBlock =
    gate === null
      ? el('div', { class: 'gate gate-none', 'data-testid': 'gate' }, el('strong', {}, 'No gate'), el('span', {}, 'det/seg run on every image'))
      : el(
          'div',
          { class: `gate ${gate.positive ? 'gate-pos' : 'gate-neg'}`, 'data-testid': 'gate', 'data-positive': String(gate.positive) },
          el('strong', {}, gate.positive ? 'Gate: positive' : 'Gate: negative'),
          el(
            'span',
            {},
            `p = ${gate.probability.toFixed(3)} ${gate.positive ? '≥' : '<'} ${gate.threshold.toFixed(2)}`,
            gate.classes ? ` · max of ${gate.classes.join(', ')}` : ' · dedicated gate head',
          ),
          el('span', { class: 'gate-effect' }, gate.positive ? 'pneumonia boxes and pneumothorax mask computed' : r.detSegShown ? 'gate off: det/seg shown anyway' : 'det/seg skipped for this image'),
        );
  const breakdown = r.steps.map((s) => el('li', {}, el('span', {}, s.label), el('span', {}, formatMs(s.ms))));
  replaceChildren(
    container,
    gateBlock,
    el(
      'div',
      { class: 'timing' },
      el('div', { class: 'metric' }, el('span', { class: 'metric-label' }, 'Inference'), el('span', { class: 'metric-value', 'data-testid': 'timing', 'data-ms': r.totalMs.toFixed(2) }, formatMs(r.totalMs))),
      el(
        'div',
        { class: 'metric' },
        el('span', { class: 'metric-label' }, 'Ran on'),
        el('span', { class: 'metric-value', 'data-testid': 'backend', 'data-backend': place.backend }, BACKEND_NAMES[place.backend]),
        el('span', { class: 'metric-note' }, place.backend === 'wasm' ? `${place.threads} thread${place.threads === 1 ? '' : 's'} · ${place.note}` : place.note),
      ),
    ),
    el('ul', { class: 'steps' }, ...breakdown),
  );
}

/** Boxes and mask of one run in words. */
export function renderFindings(container: HTMLElement, r: DemoResult, onShowAnyway: () => void): void {
  if (!r.detSegShown) {
    replaceChildren(
      container,
      el('p', { class: 'muted', 'data-testid': 'detseg-skipped' }, 'The gate judged this image negative, so the detection and segmentation heads were not used.'),
      el('button', { class: 'btn btn-small', type: 'button', 'data-testid': 'show-anyway' }, 'Show det/seg anyway'),
    );
    container.querySelector('button')!.addEventListener('click', onShowAnyway);
    return;
  }
  const items: Node[] = [];
  if (r.hasDet) {
    items.push(
      el(
        'div',
        { class: 'finding-head' },
        el('span', { class: 'swatch swatch-box' }),
        el('strong', {}, 'Pneumonia boxes'),
        el('span', { class: 'count', 'data-testid': 'box-count', 'data-count': r.boxes.length }, String(r.boxes.length)),
      ),
    );
    if (r.boxes.length === 0) items.push(el('p', { class: 'muted' }, 'No box above the score threshold.'));
    else
      items.push(
        el(
          'ol',
          { class: 'box-list' },
          ...r.boxes.map((b, i) =>
            el('li', {}, el('span', {}, `#${i + 1}`), el('span', {}, `score ${b.score.toFixed(2)}`), el('span', { class: 'muted' }, `${Math.round(b.width)} × ${Math.round(b.height)} px at (${Math.round(b.x)}, ${Math.round(b.y)})`)),
          ),
        ),
      );
  }
  if (r.hasSeg) {
    const area = r.mask?.areaFraction ?? 0;
    items.push(
      el(
        'div',
        { class: 'finding-head' },
        el('span', { class: 'swatch swatch-mask' }),
        el('strong', {}, 'Pneumothorax mask'),
        el('span', { class: 'count', 'data-testid': 'mask-area', 'data-area': area.toFixed(6) }, area > 0 ? `${formatPercent(area)} of image` : 'empty'),
      ),
    );
  }
  if (!r.hasDet && !r.hasSeg) items.push(el('p', { class: 'muted' }, 'This model has no detection or segmentation head.'));
  replaceChildren(container, ...items);
}
