// Apache ECharts, only the parts the dashboard draws, rendered as SVG. Every chart is
// a <figure> with a caption, an accessible summary and its data as a table, so the
// numbers can be read without seeing the drawing.
import * as echarts from "echarts/core";
import { BarChart, GaugeChart, LineChart, PieChart } from "echarts/charts";
import {
  AriaComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
} from "echarts/components";
import { SVGRenderer } from "echarts/renderers";
import { h } from "./dom";

echarts.use([
  BarChart,
  GaugeChart,
  LineChart,
  PieChart,
  AriaComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  SVGRenderer,
]);

export type ChartOption = echarts.EChartsCoreOption;

/** Colours with at least 4.5:1 contrast on white. */
export const PALETTE = ["#1f5fa8", "#b4460c", "#2e7031", "#6b4fa0", "#a61b4a", "#4b5563"];

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';

const live = new Set<echarts.ECharts>();
const observers = new Set<ResizeObserver>();

/** Dispose of every chart (on leaving a page). */
export function disposeCharts(): void {
  for (const o of observers) o.disconnect();
  observers.clear();
  for (const c of live) c.dispose();
  live.clear();
}

export interface ChartSpec {
  /** Stable name, e.g. `participation` (tests and styles use it). */
  key: string;
  title: string;
  /** One sentence with the figures, read by screen readers. */
  summary: string;
  option: ChartOption;
  /** The same figures as a table. */
  data: HTMLElement;
  height?: number;
}

export function chart(spec: ChartSpec): HTMLElement {
  const id = `chart-${spec.key}`;
  const canvas = h("div", {
    class: "chart-canvas",
    role: "img",
    "aria-label": spec.summary,
    style: `height:${spec.height ?? 240}px`,
  });
  const figure = h(
    "figure",
    { class: "chart", "data-chart": spec.key, "aria-labelledby": `${id}-title` },
    h("figcaption", { id: `${id}-title` }, spec.title),
    canvas,
    h("p", { class: "chart-summary" }, spec.summary),
    h("details", {}, h("summary", {}, "Show the data"), spec.data),
  );
  let instance: echarts.ECharts | null = null;
  const observer = new ResizeObserver(() => {
    if (!canvas.isConnected || canvas.clientWidth === 0) return;
    if (instance) {
      instance.resize();
      return;
    }
    instance = echarts.init(canvas, null, { renderer: "svg" });
    live.add(instance);
    instance.on("finished", () => figure.setAttribute("data-rendered", "true"));
    instance.setOption({
      color: PALETTE,
      aria: { enabled: true },
      animation: false,
      // A concrete family: ECharts measures text with it (``inherit`` mismeasures).
      textStyle: { fontFamily: FONT, color: "#1f2933" },
      tooltip: { trigger: "item" },
      ...spec.option,
    });
  });
  observer.observe(canvas);
  observers.add(observer);
  return figure;
}

/** A bar chart option: one category axis, one or more series. */
export function bars(
  categories: string[],
  series: { name: string; values: (number | null)[]; stack?: string }[],
  opts: { horizontal?: boolean; percent?: boolean; decimals?: number } = {},
): ChartOption {
  const digits = opts.decimals ?? 2;
  const label = (v: number) =>
    opts.percent ? `${Math.round(v * 100)}%` : String(Math.round(v * 10 ** digits) / 10 ** digits);
  const valueAxis = {
    type: "value",
    axisLabel: opts.percent ? { formatter: (v: number) => `${Math.round(v * 100)}%` } : {},
  };
  const categoryAxis = {
    type: "category",
    data: categories,
    inverse: Boolean(opts.horizontal), // first category on top, as in the table
    axisLabel: opts.horizontal
      ? { interval: 0, width: 110, overflow: "truncate" }
      : categoryLabels(categories),
  };
  return {
    tooltip: { trigger: "axis" },
    legend: series.length > 1 ? { top: 0, itemGap: 16 } : undefined,
    grid: { left: 8, right: 16, top: series.length > 1 ? 32 : 12, bottom: 8, containLabel: true },
    xAxis: opts.horizontal ? valueAxis : categoryAxis,
    yAxis: opts.horizontal ? categoryAxis : valueAxis,
    series: series.map((s) => ({
      type: "bar",
      name: s.name,
      stack: s.stack,
      data: s.values,
      label: {
        show: true,
        position: s.stack ? "inside" : opts.horizontal ? "right" : "top",
        formatter: (p: { value: number | null }) => (p.value === null ? "" : label(p.value)),
      },
    })),
  };
}

/** Labels of a vertical bar chart's categories: every one shown, turned when they
 * are many or long (ECharts then hides any that would still collide), and cut to a
 * width with an ellipsis (the full text is in the table). Charts whose categories
 * are names (cohorts, agreements, business units) are drawn horizontally instead:
 * one row per name, so names never run into each other. */
export function categoryLabels(categories: string[]): Record<string, unknown> {
  const longest = Math.max(0, ...categories.map((c) => c.length));
  const turn = longest > 12 || categories.length * longest > 40;
  return turn
    ? { interval: 0, rotate: 30, width: 120, overflow: "truncate", hideOverlap: true }
    : { interval: 0, width: 90, overflow: "truncate", hideOverlap: true };
}

/**
 * A stacked area chart option: one category axis (e.g. dates), one band per
 * `stacked` series, the first at the bottom; then `lines`, drawn on their own (not
 * stacked, no area): a total on top of the stack, a series outside it. So the top of
 * the stack is labelled as the total it is, never read as its last band.
 */
export function stackedAreas(
  categories: string[],
  stacked: { name: string; values: number[]; color?: string }[],
  lines: { name: string; values: number[]; color?: string; dashed?: boolean }[] = [],
): ChartOption {
  return {
    tooltip: { trigger: "axis" },
    legend: { top: 0, itemGap: 16 },
    grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
    xAxis: {
      type: "category",
      data: categories,
      boundaryGap: false,
      axisLabel: { hideOverlap: true, rotate: categories.length > 8 ? 30 : 0 },
    },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      ...stacked.map((s) => ({
        type: "line",
        name: s.name,
        stack: "total",
        data: s.values,
        ...(s.color ? { color: s.color } : {}),
        areaStyle: { opacity: 0.35 },
        symbol: "circle",
        symbolSize: 5,
        emphasis: { focus: "series" },
      })),
      ...lines.map((s) => ({
        type: "line",
        name: s.name,
        data: s.values,
        ...(s.color ? { color: s.color } : {}),
        lineStyle: { width: 2, type: s.dashed ? "dashed" : "solid" },
        symbol: "circle",
        symbolSize: 4,
        z: 3,
      })),
    ],
  };
}
