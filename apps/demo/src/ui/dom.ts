/** Attributes and children of {@link el}: strings become text nodes; `null`/`false` are skipped. */
type Child = Node | string | number | null | undefined | false;

/**
 * Creates an element with attributes (`class`, `data-*`, `aria-*`, ...) and children. Text always goes in as
 * text nodes, never as HTML, so nothing a file contains can inject markup.
 *
 * @example
 * el('p', { class: 'muted' }, 'Loaded ', el('b', {}, name));
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children)
    if (c !== null && c !== undefined && c !== false) node.append(typeof c === 'object' ? c : String(c));
  return node;
}

/** Replaces the children of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(
    ...children
      .filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false)
      .map((c) => (typeof c === 'object' ? c : String(c))),
  );
}

/** The element with this id, typed; throws when the page skeleton lacks it (a bug in index.html). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new TypeError(`index.html lacks #${id}`);
  return node as T;
}

/** 12.3 ms / 1.23 s. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(ms < 10 ? 1 : 0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** 0.1234 -> "12.3%". */
export function formatPercent(p: number): string {
  return `${(p * 100).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1)}%`;
}
