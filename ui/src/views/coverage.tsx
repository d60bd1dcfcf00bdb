import { useEffect, useRef, useState } from "preact/hooks";
import type { CoverageJson } from "../../../src/api/console-contract";
import { useApi } from "../api";
import { DateField, ErrorText, Loading } from "../components";
import { navigate, seg, setQuery, useLocation } from "../router";

const STATUS: Record<string, { label: string; cssVar: string }> = {
  L: { label: "loaded", cssVar: "--cov-loaded" },
  M: { label: "missing session", cssVar: "--cov-missing" },
  Q: { label: "quality error", cssVar: "--cov-quality" },
  H: { label: "holiday", cssVar: "--cov-holiday" },
  "-": { label: "outside the symbol's history", cssVar: "--cov-none" },
};

const LABEL_W = 84;
const HEAD_H = 18;
const PAGE = 500;

export function CoverageView() {
  const { query } = useLocation();
  const source = query.get("source") ?? "";
  const from = query.get("from") ?? "";
  const to = query.get("to") ?? "";
  const offset = Number(query.get("offset") ?? 0) || 0;
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (source) params.set("source", source);
  if (from) params.set("from", from);
  if (to) params.set("to", to);
  if (offset) params.set("offset", String(offset));
  const { data, error } = useApi<CoverageJson>(`/api/coverage?${params}`);
  const [fromText, setFromText] = useState(from);
  const [toText, setToText] = useState(to);
  useEffect(() => {
    if (data) {
      setFromText(from || data.from);
      setToText(to || data.to);
    }
  }, [data, from, to]);

  return (
    <div class="page" data-testid="coverage">
      <h1>Coverage</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ from: fromText, to: toText, offset: null }, { push: true });
        }}
      >
        <label>
          Source
          <select
            name="source"
            data-testid="coverage-source"
            value={data?.source ?? source}
            onChange={(e) =>
              setQuery({ source: (e.target as HTMLSelectElement).value, offset: null }, { push: true })
            }
          >
            {(data?.sources ?? (source ? [source] : [])).map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <DateField label="From" name="from" value={fromText} onChange={setFromText} />
        <DateField label="To" name="to" value={toText} onChange={setToText} />
        <button type="submit">Show</button>
      </form>
      <Legend />
      <ErrorText error={error} />
      {!data && !error ? <Loading what="coverage" /> : null}
      {data ? (
        <>
          <Grid data={data} />
          <div class="more">
            <span class="muted">
              symbols {data.total === 0 ? 0 : data.offset + 1}–{data.offset + data.symbols.length} of{" "}
              {data.total} · {data.days.length} weekdays {data.from} to {data.to}
            </span>
            {data.offset > 0 ? (
              <button
                type="button"
                onClick={() => setQuery({ offset: String(Math.max(0, data.offset - PAGE)) }, { push: true })}
              >
                Previous {PAGE}
              </button>
            ) : null}
            {data.offset + data.symbols.length < data.total ? (
              <button
                type="button"
                onClick={() => setQuery({ offset: String(data.offset + PAGE) }, { push: true })}
              >
                Next {PAGE}
              </button>
            ) : null}
          </div>
        </>
      ) : null}
    </div>
  );
}

function Legend() {
  return (
    <div class="legend coverage-legend" data-testid="coverage-legend">
      {Object.entries(STATUS).map(([letter, s]) => (
        <span key={letter} class="legend-item">
          <span class={`swatch cov-${letter === "-" ? "none" : letter}`} /> {s.label}
        </span>
      ))}
    </div>
  );
}

function Grid({ data }: { data: CoverageJson }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const tip = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const days = data.days.length;
  const rows = data.symbols.length;

  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    return () => ro.disconnect();
  }, []);

  const cw = Math.max(2, Math.min(14, Math.floor((Math.max(width, 400) - LABEL_W - 4) / Math.max(days, 1))));
  const ch = rows > 200 ? 8 : 12;
  const cssW = LABEL_W + days * cw;
  const cssH = HEAD_H + rows * ch;

  // Counts of each status (test hooks and the summary line).
  const counts: Record<string, number> = { L: 0, M: 0, Q: 0, H: 0, "-": 0 };
  for (const s of data.symbols) for (const c of s.cells) counts[c] = (counts[c] ?? 0) + 1;

  useEffect(() => {
    const el = canvas.current;
    if (!el || width === 0) return;
    const started = performance.now();
    const dpr = window.devicePixelRatio || 1;
    el.width = Math.ceil(cssW * dpr);
    el.height = Math.ceil(cssH * dpr);
    el.style.width = `${cssW}px`;
    el.style.height = `${cssH}px`;
    const ctx = el.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const css = getComputedStyle(document.documentElement);
    const fill: Record<string, string> = {};
    for (const [letter, s] of Object.entries(STATUS))
      fill[letter] = css.getPropertyValue(s.cssVar).trim() || "#888";
    ctx.clearRect(0, 0, cssW, cssH);
    // One fillRect per run of equal letters in a row: 500 x 252 draws in a few ms.
    const gap = cw >= 4 ? 1 : 0;
    const gapY = ch >= 8 ? 1 : 0;
    data.symbols.forEach((s, r) => {
      const y = HEAD_H + r * ch;
      let start = 0;
      for (let d = 1; d <= s.cells.length; d++) {
        if (d < s.cells.length && s.cells[d] === s.cells[start] && gap === 0) continue;
        const letter = s.cells[start] ?? "-";
        ctx.fillStyle = fill[letter] ?? "#888";
        ctx.fillRect(LABEL_W + start * cw, y, (d - start) * cw - gap, ch - gapY);
        start = d;
      }
    });
    ctx.fillStyle = css.getPropertyValue("--fg").trim() || "#222";
    ctx.font = `${Math.min(11, ch)}px system-ui, sans-serif`;
    ctx.textBaseline = "middle";
    if (ch >= 8) {
      data.symbols.forEach((s, r) => {
        ctx.fillText(
          s.symbol.length > 12 ? `${s.symbol.slice(0, 11)}…` : s.symbol,
          2,
          HEAD_H + r * ch + ch / 2,
          LABEL_W - 4,
        );
      });
    }
    // Month labels along the top.
    ctx.font = "10px system-ui, sans-serif";
    let lastMonth = "";
    let lastX = -100;
    data.days.forEach((day, i) => {
      const month = day.date.slice(0, 7);
      const x = LABEL_W + i * cw;
      if (month !== lastMonth && x - lastX > 40) {
        ctx.fillText(month, x, HEAD_H / 2);
        lastX = x;
      }
      lastMonth = month;
    });
    el.dataset.drawMs = (performance.now() - started).toFixed(1);
  }, [data, width, cw, ch, cssW, cssH]);

  const cellAt = (e: MouseEvent) => {
    const rect = canvas.current!.getBoundingClientRect();
    const x = e.clientX - rect.left - LABEL_W;
    const y = e.clientY - rect.top - HEAD_H;
    if (x < 0 || y < 0) return null;
    const d = Math.floor(x / cw);
    const r = Math.floor(y / ch);
    const sym = data.symbols[r];
    const day = data.days[d];
    if (!sym || !day) return null;
    return { symbol: sym.symbol, date: day.date, letter: sym.cells[d] ?? "-", holiday: day.holiday };
  };

  const onMove = (e: MouseEvent) => {
    const t = tip.current;
    if (!t) return;
    const cell = cellAt(e);
    if (!cell) {
      t.hidden = true;
      return;
    }
    const status = STATUS[cell.letter]?.label ?? cell.letter;
    t.textContent = `${cell.symbol} ${cell.date}: ${status}${cell.holiday ? ` (${cell.holiday})` : ""}`;
    t.hidden = false;
    const wrapRect = wrap.current!.getBoundingClientRect();
    t.style.left = `${e.clientX - wrapRect.left + wrap.current!.scrollLeft + 12}px`;
    t.style.top = `${e.clientY - wrapRect.top + wrap.current!.scrollTop + 12}px`;
    canvas.current!.title = t.textContent;
  };

  const onClick = (e: MouseEvent) => {
    const cell = cellAt(e);
    if (cell) navigate(`/data/${seg(data.source)}/${seg(cell.symbol)}?date=${cell.date}`);
  };

  return (
    <section class="panel">
      <p class="muted" data-testid="coverage-summary">
        {counts.L} loaded · {counts.M} missing · {counts.Q} quality errors · {counts.H} holiday cells
      </p>
      <div class="coverage-wrap" ref={wrap}>
        {rows === 0 ? <p class="muted">No symbols for this source.</p> : null}
        <canvas
          ref={canvas}
          class="coverage-grid"
          data-testid="coverage-grid"
          data-symbols={rows}
          data-days={days}
          data-loaded={counts.L}
          data-missing={counts.M}
          data-quality={counts.Q}
          data-holiday={counts.H}
          data-cell-width={cw}
          data-cell-height={ch}
          data-left={LABEL_W}
          data-top={HEAD_H}
          onMouseMove={onMove}
          onMouseLeave={() => {
            if (tip.current) tip.current.hidden = true;
          }}
          onClick={onClick}
        />
        <div class="tooltip" ref={tip} hidden data-testid="coverage-tooltip" />
      </div>
    </section>
  );
}
