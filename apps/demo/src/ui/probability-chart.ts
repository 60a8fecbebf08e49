import type { ClassProbability } from '../engine/demo-result';
import { el, formatPercent, replaceChildren } from './dom';

/**
 * The class probabilities as a horizontal bar chart, highest first; the classes the gate reads carry a tag. With
 * `heatmaps` (a model exported with class activation maps) each row gets a toggle that shows its class's map over
 * the film (`shown`: the class whose map is on).
 */
export function renderProbabilities(
  container: HTMLElement,
  probabilities: readonly ClassProbability[],
  gateClasses: readonly string[],
  heatmaps: { shown: string | null; toggle: (name: string) => void } | null = null,
): void {
  const rows = probabilities.map(({ name, probability }) => {
    const pct = Math.max(0, Math.min(1, probability));
    return el(
      'li',
      { class: 'prob-row', 'data-class': name, 'data-probability': probability.toFixed(6) },
      el(
        'span',
        { class: 'prob-name' },
        name.replace(/_/g, ' '),
        gateClasses.includes(name) ? el('span', { class: 'tag tag-gate', title: 'read by the gate' }, 'gate') : null,
      ),
      el(
        'span',
        { class: 'prob-track' },
        el('span', { class: `prob-bar ${pct >= 0.5 ? 'prob-high' : ''}`, style: `width: ${(pct * 100).toFixed(2)}%` }),
      ),
      el('span', { class: 'prob-value' }, formatPercent(probability)),
      heatmaps === null ? null : camToggle(name, heatmaps.shown === name, heatmaps.toggle),
    );
  });
  replaceChildren(
    container,
    el(
      'ol',
      { class: heatmaps === null ? 'prob-list' : 'prob-list with-cams', 'data-testid': 'probabilities' },
      ...rows,
    ),
  );
}

/** The per-class heatmap switch of a probability row. */
function camToggle(name: string, on: boolean, toggle: (name: string) => void): HTMLButtonElement {
  const b = el(
    'button',
    {
      type: 'button',
      class: `cam-toggle${on ? ' cam-on' : ''}`,
      'data-cam': name,
      'aria-pressed': String(on),
      title: `class activation map of ${name.replace(/_/g, ' ')} over the film`,
    },
    'map',
  );
  b.addEventListener('click', () => toggle(name));
  return b;
}
