import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The look shared by every chart of the report (fonts that exist offline, quiet axes). */
export const CHART_CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif',
  background: 'white',
  view: { stroke: '#d0d7de' },
  axis: {
    labelColor: '#3d4852',
    titleColor: '#1f2933',
    gridColor: '#eef1f4',
    domainColor: '#9aa5b1',
    tickColor: '#9aa5b1',
    titleFontWeight: 600,
    labelFontSize: 11,
    titleFontSize: 12,
  },
  legend: { labelColor: '#3d4852', titleColor: '#1f2933', labelFontSize: 11, titleFontSize: 12 },
  header: { labelFontSize: 12, labelColor: '#1f2933', titleFontSize: 12 },
  title: { fontSize: 13, color: '#1f2933', anchor: 'start' as const },
  range: {
    category: [
      '#2563eb',
      '#dc2626',
      '#16a34a',
      '#9333ea',
      '#ea580c',
      '#0891b2',
      '#be185d',
      '#4d7c0f',
      '#7c3aed',
      '#b45309',
    ],
  },
} as const;

/** Vega-Lite's compile-time notes (e.g. how it merged two scale domains) are not the user's business. */
const quiet = vega.logger(vega.Error);

/**
 * A Vega-Lite spec rendered to an SVG string in Node (headless view, no canvas, no network): the report inlines
 * it, so the page opens offline.
 *
 * @example
 * const svg = await renderChartSvg({ data: { values: [{ x: 1, y: 2 }] }, mark: 'line', encoding: { ... } });
 */
export async function renderChartSvg(spec: TopLevelSpec): Promise<string> {
  const withConfig = { ...spec, config: { ...CHART_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec;
  const compiled = compile(withConfig, { logger: quiet }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' }).logLevel(vega.Error);
  try {
    const svg = await view.toSVG();
    // Scale with the page: drop the fixed size, keep the aspect ratio from the viewBox.
    return svg
      .replace(/^<svg([^>]*?) class="marks"/, '<svg$1 class="chart marks"')
      .replace(
        /^<svg([^>]*?) width="([\d.]+)" height="([\d.]+)"/,
        '<svg$1 style="width:$2px;max-width:100%;height:auto"',
      );
  } finally {
    view.finalize();
  }
}
