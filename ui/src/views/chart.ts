/**
 * The candlestick chart, loaded lazily (`import("./chart")`) so lightweight-charts stays out of the
 * first load. Price and overlays (moving averages, bands) in pane 0, volume in pane 1, oscillators
 * (RSI, MACD, stochastic, ...) in panes below, one pane per family.
 */
import {
  CandlestickSeries,
  ColorType,
  createChart,
  createSeriesMarkers,
  HistogramSeries,
  type IChartApi,
  LineSeries,
  type SeriesMarker,
  type Time,
} from "lightweight-charts";
import type { BarsJson, SymbolEventsJson } from "../../../src/api/console-contract";

const PANE_FAMILIES = [
  "macd",
  "rsi",
  "stoch",
  "adx",
  "dmi",
  "cci",
  "willr",
  "williams",
  "mfi",
  "obv",
  "atr",
  "roc",
  "mom",
  "aroon",
  "trix",
  "ppo",
  "kdj",
  "natr",
  "cmf",
  "ad",
];

/** The pane family of an indicator (null: overlaid on price). A heuristic on its name. */
export function paneFamily(name: string): string | null {
  const head = name.toLowerCase().split(/[_\-\s]/)[0] ?? "";
  for (const f of PANE_FAMILIES) if (head === f || head.startsWith(f)) return f;
  return null;
}

const PALETTE = ["#e8a33d", "#3d8be8", "#b05ce0", "#2bb0a0", "#e0608a", "#8aa13a", "#6b7fd6", "#d67a3a"];

export interface ChartHandle {
  destroy(): void;
  bars: number;
}

export function drawChart(
  el: HTMLElement,
  bars: BarsJson,
  events: SymbolEventsJson | undefined,
  options: { indicators: string[]; focusDate: string | null },
): ChartHandle {
  const css = getComputedStyle(document.documentElement);
  const color = (v: string, fallback: string) => css.getPropertyValue(v).trim() || fallback;
  const text = color("--fg", "#222");
  const grid = color("--grid", "#eee");
  const up = color("--up", "#26a69a");
  const down = color("--down", "#ef5350");

  const families = [...new Set(options.indicators.map(paneFamily).filter((f): f is string => f !== null))];
  const height = 380 + 110 + families.length * 140;
  el.style.height = `${height}px`;

  const chart: IChartApi = createChart(el, {
    autoSize: true,
    layout: {
      background: { type: ColorType.Solid, color: "transparent" },
      textColor: text,
      fontFamily: "system-ui, sans-serif",
      fontSize: 11,
      attributionLogo: false,
      panes: { separatorColor: grid },
    },
    grid: { vertLines: { color: grid }, horzLines: { color: grid } },
    timeScale: { borderColor: grid },
    rightPriceScale: { borderColor: grid },
    crosshair: { mode: 0 },
  });

  const candles = chart.addSeries(CandlestickSeries, {
    upColor: up,
    downColor: down,
    wickUpColor: up,
    wickDownColor: down,
    borderVisible: false,
  });
  const data = [];
  const volume = [];
  for (let i = 0; i < bars.date.length; i++) {
    const o = bars.open[i];
    const h = bars.high[i];
    const l = bars.low[i];
    const c = bars.close[i];
    const time = bars.date[i] as Time;
    if (o == null || h == null || l == null || c == null) continue;
    data.push({ time, open: o, high: h, low: l, close: c });
    const v = bars.volume[i];
    if (v != null) volume.push({ time, value: v, color: c >= o ? `${up}88` : `${down}88` });
  }
  candles.setData(data);

  const vol = chart.addSeries(
    HistogramSeries,
    { priceFormat: { type: "volume" }, priceLineVisible: false },
    1,
  );
  vol.setData(volume);

  let colorIndex = 0;
  for (const name of options.indicators) {
    const values = bars.indicators[name];
    if (!values) continue;
    const family = paneFamily(name);
    const pane = family === null ? 0 : 2 + families.indexOf(family);
    const points = [];
    for (let i = 0; i < bars.date.length; i++) {
      const v = values[i];
      if (v != null) points.push({ time: bars.date[i] as Time, value: v });
    }
    const lineColor = PALETTE[colorIndex++ % PALETTE.length]!;
    if (/hist/i.test(name)) {
      const s = chart.addSeries(
        HistogramSeries,
        { color: lineColor, priceLineVisible: false, title: name },
        pane,
      );
      s.setData(points.map((p) => ({ ...p, color: p.value >= 0 ? `${up}aa` : `${down}aa` })));
    } else {
      const s = chart.addSeries(
        LineSeries,
        { color: lineColor, lineWidth: 1, priceLineVisible: false, lastValueVisible: false, title: name },
        pane,
      );
      s.setData(points);
    }
  }

  // Relative pane heights: price 380, volume 110, each oscillator 140 (of the container's height).
  const panes = chart.panes();
  panes[0]?.setStretchFactor(380);
  panes[1]?.setStretchFactor(110);
  for (let i = 2; i < panes.length; i++) panes[i]?.setStretchFactor(140);

  const dates = new Set(data.map((d) => d.time as string));
  const markers: SeriesMarker<Time>[] = [];
  for (const a of events?.corporate_actions ?? []) {
    if (!dates.has(a.date)) continue;
    markers.push(
      a.kind === "split"
        ? {
            time: a.date as Time,
            position: "aboveBar",
            shape: "arrowDown",
            color: "#8a5cf6",
            text: `split ${a.value ?? ""}`,
          }
        : {
            time: a.date as Time,
            position: "belowBar",
            shape: "circle",
            color: "#2e86de",
            text: `div ${a.value ?? ""}`,
          },
    );
  }
  const seen = new Set<string>();
  for (const q of events?.quality ?? []) {
    if (!q.date || !dates.has(q.date) || seen.has(`${q.date}|${q.check_name}`)) continue;
    seen.add(`${q.date}|${q.check_name}`);
    markers.push({
      time: q.date as Time,
      position: "aboveBar",
      shape: "square",
      color: q.severity === "error" ? down : "#e8a33d",
      text: q.check_name,
    });
  }
  if (options.focusDate && dates.has(options.focusDate)) {
    markers.push({
      time: options.focusDate as Time,
      position: "belowBar",
      shape: "arrowUp",
      color: text,
      text: options.focusDate,
    });
  }
  markers.sort((a, b) => String(a.time).localeCompare(String(b.time)));
  createSeriesMarkers(candles, markers);

  const focusIndex = options.focusDate ? data.findIndex((d) => (d.time as string) >= options.focusDate!) : -1;
  if (focusIndex >= 0)
    chart.timeScale().setVisibleLogicalRange({ from: focusIndex - 60, to: focusIndex + 60 });
  else chart.timeScale().fitContent();

  el.dataset.bars = String(data.length);
  el.dataset.markers = String(markers.length);
  el.dataset.panes = String(chart.panes().length);
  return {
    bars: data.length,
    destroy: () => chart.remove(),
  };
}
