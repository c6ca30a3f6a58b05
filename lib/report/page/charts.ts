/**
 * The handful of ECharts calls the page makes. ECharts is not imported: echarts.min.js is inlined into
 * the report before the page script and defines the global `echarts`, so only its shape is declared.
 */

import { byId } from './dom.ts';

/** An ECharts option object; its many shapes are checked by ECharts at run time, not here. */
export type ChartOption = Readonly<Record<string, unknown>>;

/** What a tooltip or label formatter receives, as far as the page reads it. */
export interface FormatterParams {
  readonly name: string;
  readonly value: number;
  readonly dataIndex: number;
  readonly data?: unknown;
}

export interface EChartsInstance {
  setOption(option: ChartOption): void;
  resize(): void;
  dispose(): void;
  on(event: 'click', handler: (params: FormatterParams) => void): void;
}

interface ECharts {
  init(element: HTMLElement, theme: null, options: { readonly renderer: 'svg' }): EChartsInstance;
}

declare const echarts: ECharts;

const charts: EChartsInstance[] = [];
const instanceElement = new WeakMap<EChartsInstance, HTMLElement>();

/**
 * Draws a chart into the element with this id, as SVG (it prints sharp and tests can read its text),
 * without animation (a printed or screenshotted page shows the final state) and with ARIA labels.
 */
export function chart(id: string, option: ChartOption): EChartsInstance {
  const element = byId(id);
  const instance = echarts.init(element, null, { renderer: 'svg' });
  instanceElement.set(instance, element);
  instance.setOption({
    animation: false,
    aria: { enabled: true },
    textStyle: { fontFamily: 'system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif' },
    ...option,
  });
  charts.push(instance);
  return instance;
}

/** Disposes of every chart drawn so far (before a month is drawn again, into new elements). */
export function disposeCharts(): void {
  for (const instance of charts.splice(0)) instance.dispose();
}

/** Disposes of the chart drawn into one element, if any (a drill-down drawn again). */
export function disposeChartIn(id: string): void {
  const element = document.getElementById(id);
  const index = charts.findIndex((instance) => element !== null && instanceElement.get(instance) === element);
  if (index >= 0) charts.splice(index, 1)[0]?.dispose();
}

/** Keeps the charts as wide as the page, also when it is laid out again for printing. */
export function resizeChartsWithWindow(): void {
  const resizeAll = () => {
    for (const instance of charts) instance.resize();
  };
  window.addEventListener('resize', resizeAll);
  window.addEventListener('beforeprint', resizeAll);
}
