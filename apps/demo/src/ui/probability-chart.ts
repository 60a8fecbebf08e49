import type { ClassProbability } from '../engine/demo-result';
import { el, formatPercent, replaceChildren } from './dom';

/**
 * The class probabilities as a horizontal bar chart, highest first; the classes the gate reads carry a tag.
 */
export function renderProbabilities(container: HTMLElement, probabilities: readonly ClassProbability[], gateClasses: readonly string[]): void {
  const rows = probabilities.map(({ name, probability }) => {
    const pct = Math.max(0, Math.min(1, probability));
    return el(
      'li',
      { class: 'prob-row', 'data-class': name, 'data-probability': probability.toFixed(6) },
      el('span', { class: 'prob-name' }, name.replace(/_/g, ' '), gateClasses.includes(name) ? el('span', { class: 'tag tag-gate', title: 'read by the gate' }, 'gate') : null),
      el('span', { class: 'prob-track' }, el('span', { class: `prob-bar ${pct >= 0.5 ? 'prob-high' : ''}`, style: `width: ${(pct * 100).toFixed(2)}%` })),
      el('span', { class: 'prob-value' }, formatPercent(probability)),
    );
  });
  replaceChildren(container, el('ol', { class: 'prob-list', 'data-testid': 'probabilities' }, ...rows));
}
