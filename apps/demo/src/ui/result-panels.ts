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
      ? el(
          'div',
          { class: 'gate gate-none', 'data-testid': 'gate' },
          el('strong', {}, 'No gate'),
          el('span', {}, 'det/seg run on every image'),
        )
      : el(
          'div',
          {
            class: `gate ${gate.positive ? 'gate-pos' : 'gate-neg'}`,
            'data-testid': 'gate',
            'data-positive': String(gate.positive),
          },
          el('strong', {}, gate.positive ? 'Gate: positive' : 'Gate: negative'),
          el(
            'span',
            {},
            `p = ${gate.probability.toFixed(3)} ${gate.positive ? '≥' : '<'} ${gate.threshold.toFixed(2)}`,
            gate.classes ? ` · max of ${gate.classes.join(', ')}` : ' · dedicated gate head',
          ),
          el(
            'span',
            { class: 'gate-effect' },
            gate.positive
              ? 'pneumonia boxes and pneumothorax mask computed'
              : r.detSegShown
                ? 'gate off: det/seg shown anyway'
                : 'det/seg skipped for this image',
          ),
        );
  const breakdown = r.steps.map((s) => el('li', {}, el('span', {}, s.label), el('span', {}, formatMs(s.ms))));
  replaceChildren(
    container,
    oodBlock(r),
    gateBlock,
    el(
      'p',
      { class: 'muted', 'data-testid': 'calibration', 'data-calibrated': String(r.calibrated) },
      r.calibrated
        ? 'Probabilities calibrated (temperature scaling fitted on validation films).'
        : 'Probabilities not calibrated.',
    ),
    el(
      'div',
      { class: 'timing' },
      el(
        'div',
        { class: 'metric' },
        el('span', { class: 'metric-label' }, 'Inference'),
        el(
          'span',
          { class: 'metric-value', 'data-testid': 'timing', 'data-ms': r.totalMs.toFixed(2) },
          formatMs(r.totalMs),
        ),
      ),
      el(
        'div',
        { class: 'metric' },
        el('span', { class: 'metric-label' }, 'Ran on'),
        el(
          'span',
          { class: 'metric-value', 'data-testid': 'backend', 'data-backend': place.backend },
          BACKEND_NAMES[place.backend],
        ),
        el(
          'span',
          { class: 'metric-note' },
          place.backend === 'wasm'
            ? `${place.threads} thread${place.threads === 1 ? '' : 's'} · ${place.note}`
            : place.note,
        ),
      ),
    ),
    el('ul', { class: 'steps' }, ...breakdown),
  );
}

/** Boxes and mask of one run in words. */
export function renderFindings(
  container: HTMLElement,
  r: DemoResult,
  onShowAnyway: () => void,
  onShowOodAnyway: () => void,
): void {
  if (r.refused) {
    replaceChildren(
      container,
      el(
        'p',
        { class: 'muted', 'data-testid': 'ood-refused' },
        'Refused as out of distribution: this image is not like the frontal chest X-rays the model was trained on, so no findings are shown.',
      ),
      el(
        'button',
        { class: 'btn btn-small', type: 'button', 'data-testid': 'ood-show-anyway' },
        'Show findings anyway',
      ),
    );
    container.querySelector('button')!.addEventListener('click', onShowOodAnyway);
    return;
  }
  if (!r.detSegShown) {
    replaceChildren(
      container,
      el(
        'p',
        { class: 'muted', 'data-testid': 'detseg-skipped' },
        'The gate judged this image negative, so the detection and segmentation heads were not used.',
      ),
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
        el(
          'span',
          { class: 'count', 'data-testid': 'box-count', 'data-count': r.boxes.length },
          String(r.boxes.length),
        ),
      ),
    );
    if (r.boxes.length === 0) items.push(el('p', { class: 'muted' }, 'No box above the score threshold.'));
    else
      items.push(
        el(
          'ol',
          { class: 'box-list' },
          ...r.boxes.map((b, i) =>
            el(
              'li',
              {},
              el('span', {}, `#${i + 1}`),
              el('span', {}, `score ${b.score.toFixed(2)}`),
              el(
                'span',
                { class: 'muted' },
                `${Math.round(b.width)} × ${Math.round(b.height)} px at (${Math.round(b.x)}, ${Math.round(b.y)})`,
              ),
            ),
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
        el(
          'span',
          { class: 'count', 'data-testid': 'mask-area', 'data-area': area.toFixed(6) },
          area > 0 ? `${formatPercent(area)} of image` : 'empty',
        ),
      ),
    );
  }
  if (!r.hasDet && !r.hasSeg)
    items.push(el('p', { class: 'muted' }, 'This model has no detection or segmentation head.'));
  replaceChildren(container, ...items);
}

/** The OOD verdict: a refusal (no findings), a flag, or nothing when the model records no OOD statistics. */
function oodBlock(r: DemoResult): HTMLElement | null {
  const o = r.ood;
  if (o === null) return null;
  const f = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));
  const attrs = {
    'data-testid': 'ood',
    'data-score': String(o.score),
    'data-threshold': String(o.threshold),
    'data-refused': String(r.refused),
  };
  if (!o.outOfDistribution)
    return el(
      'p',
      { class: 'muted', ...attrs },
      `Looks like a frontal chest X-ray (OOD score ${f(o.score)} ≤ ${f(o.threshold)}).`,
    );
  return el(
    'div',
    { class: 'gate gate-ood', ...attrs },
    el('strong', {}, r.refused ? 'Refused: not a frontal chest X-ray?' : 'Warning: not a frontal chest X-ray?'),
    el(
      'span',
      {},
      `This image is not like the frontal chest X-rays the model was trained on (OOD score ${f(o.score)} > threshold ${f(o.threshold)}).`,
    ),
    el('span', { class: 'gate-effect' }, r.refused ? 'no findings are shown for it' : 'its findings are unreliable'),
  );
}
