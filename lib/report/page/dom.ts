import type { ReportAlertBadge } from '../report-data.ts';

/**
 * Attributes of {@link el}: `text` becomes the text content and `style` the inline style; the others are
 * set as they are. Values are never parsed as HTML, so a customer name cannot inject markup.
 */
export type Attributes = Readonly<Record<string, string>>;

/** The element with this id; the markup is rendered with the page, so a missing one is a bug. */
export function byId(id: string): HTMLElement {
  const node = document.getElementById(id);
  if (!node) throw new Error(`The report has no element #${id}`);
  return node;
}

/** The first element matching a selector (see {@link byId}). */
export function query(selector: string): Element {
  const node = document.querySelector(selector);
  if (!node) throw new Error(`The report has no element ${selector}`);
  return node;
}

/** A new element with attributes and children; null children are skipped, so optional parts read inline. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes?: Attributes | null,
  children?: readonly (Node | null)[],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (name === 'text') node.textContent = value;
    else if (name === 'style') node.style.cssText = value;
    else node.setAttribute(name, value);
  }
  for (const child of children ?? []) if (child) node.appendChild(child);
  return node;
}

/** A headline figure: label, value (found by tests through `testId`), optional note and value class. */
export function tile(
  label: string,
  value: string,
  note: string | null,
  testId: string,
  valueClass?: string,
): HTMLElement {
  return el('div', { class: 'tile' }, [
    el('div', { class: 'label', text: label }),
    el('div', { class: `value${valueClass ? ` ${valueClass}` : ''}`, text: value, 'data-testid': testId }),
    note ? el('div', { class: 'note', text: note }) : null,
  ]);
}

/** An alert's severity and type, coloured by severity (report.css `.sev-*`). */
export function badge(alert: ReportAlertBadge): HTMLElement {
  return el('span', { class: `badge sev-${alert.severity}`, text: `${alert.severity} ${alert.type}` });
}

/** A chart tooltip as DOM nodes (ECharts would parse a string as HTML), the first line bold. */
export function tooltip(lines: readonly string[]): HTMLElement {
  return el(
    'div',
    { style: 'font-size:13px;line-height:1.45' },
    lines.map((line, i) => el('div', { text: line, style: i === 0 ? 'font-weight:600' : '' })),
  );
}

/** A legend entry: a colour swatch and its label. */
export function swatch(color: string, label: string): HTMLElement {
  return el('span', null, [el('i', { style: `background:${color}` }), document.createTextNode(label)]);
}

/**
 * A customer's name as a button that opens its drill-down: main.ts listens for clicks on any element with
 * `data-customer-id` (the treemap calls the same function), so every table opens it the same way.
 */
export function customerButton(name: string, customerId: string): HTMLElement {
  return el('button', {
    type: 'button',
    class: 'customer-link',
    'data-customer-id': customerId,
    title: `${customerId}: open the drill-down`,
    text: name,
  });
}
