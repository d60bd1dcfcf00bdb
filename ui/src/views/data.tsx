import { useEffect, useRef, useState } from "preact/hooks";
import type { BarsJson, SymbolEventsJson, SymbolJson } from "../../../src/api/console-contract";
import { useApi } from "../api";
import { ErrorText, Loading, Section } from "../components";
import { seg, setQuery, useLocation } from "../router";

export function DataSearchView() {
  const { query } = useLocation();
  const [text, setText] = useState(query.get("q") ?? "");
  const [debounced, setDebounced] = useState(text);
  useEffect(() => {
    const t = setTimeout(() => {
      setDebounced(text.trim());
      setQuery({ q: text.trim() });
    }, 200);
    return () => clearTimeout(t);
  }, [text]);
  const { data, error } = useApi<SymbolJson[]>(
    `/api/data/symbols?limit=50&q=${encodeURIComponent(debounced)}`,
  );
  return (
    <div class="page" data-testid="data">
      <h1>Data</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Symbol
          <input
            type="search"
            name="q"
            data-testid="symbol-search"
            placeholder="AAPL"
            value={text}
            onInput={(e) => setText((e.target as HTMLInputElement).value)}
          />
        </label>
      </form>
      <ErrorText error={error} />
      {!data && !error ? <Loading what="symbols" /> : null}
      {data ? (
        <section class="panel">
          <table class="grid" data-testid="symbol-list">
            <thead>
              <tr>
                <th>Symbol</th>
                <th>Source</th>
                <th>First</th>
                <th>Last</th>
                <th>Sessions</th>
              </tr>
            </thead>
            <tbody>
              {data.map((s) => (
                <tr key={`${s.source}|${s.symbol}`} data-testid="symbol-row">
                  <td>
                    <a href={`/data/${seg(s.source)}/${seg(s.symbol)}`}>{s.symbol}</a>
                  </td>
                  <td>{s.source}</td>
                  <td>{s.first_date}</td>
                  <td>{s.last_date}</td>
                  <td class="num">{s.sessions}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.length === 0 ? <p class="muted">No symbol matches.</p> : null}
          {data.length >= 50 ? <p class="muted">The first 50 matches; type more to narrow.</p> : null}
        </section>
      ) : null}
    </div>
  );
}

type ChartModule = typeof import("./chart");

export function SymbolView({ source, symbol }: { source: string; symbol: string }) {
  const { query } = useLocation();
  const selected = (query.get("indicators") ?? "").split(",").filter(Boolean);
  const date = query.get("date");
  const base = `/api/data/${seg(source)}/${seg(symbol)}`;
  const bars = useApi<BarsJson>(
    `${base}/bars${selected.length ? `?indicators=${selected.map(encodeURIComponent).join(",")}` : ""}`,
  );
  const events = useApi<SymbolEventsJson>(`${base}/events`);
  const [mod, setMod] = useState<ChartModule | null>(null);
  const [modError, setModError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    import("./chart").then(setMod, (err: Error) => setModError(`chart: ${err.message}`));
  }, []);

  useEffect(() => {
    if (!mod || !bars.data || !box.current) return;
    const handle = mod.drawChart(box.current, bars.data, events.data, {
      indicators: selected.filter((s) => bars.data!.indicators[s]),
      focusDate: date,
    });
    return () => handle.destroy();
  }, [mod, bars.data, events.data, date]);

  const toggle = (name: string) => {
    const next = selected.includes(name) ? selected.filter((s) => s !== name) : [...selected, name];
    setQuery({ indicators: next.join(",") });
  };

  const available = bars.data?.available_indicators ?? [];
  const actions = events.data?.corporate_actions ?? [];
  const quality = events.data?.quality ?? [];

  return (
    <div class="page" data-testid="symbol">
      <header class="page-head">
        <h1>
          {symbol} <span class="muted">{source}</span>
        </h1>
        <span class="spacer" />
        {bars.data && bars.data.date.length > 0 ? (
          <span class="muted">
            {bars.data.date[0]} to {bars.data.date[bars.data.date.length - 1]} · {bars.data.date.length} bars
          </span>
        ) : null}
        <a href={`/coverage?source=${seg(source)}`}>coverage</a>
      </header>
      <ErrorText error={bars.error ?? modError} />
      {available.length > 0 ? (
        <div class="indicator-picker" data-testid="indicator-picker">
          <span class="muted">Indicators:</span>
          {available.map((name) => (
            <label key={name} class={selected.includes(name) ? "chip on" : "chip"}>
              <input type="checkbox" checked={selected.includes(name)} onChange={() => toggle(name)} /> {name}
            </label>
          ))}
        </div>
      ) : null}
      <section class="panel chart-panel">
        {!bars.data || !mod ? <Loading what="chart" /> : null}
        {bars.data && bars.data.date.length === 0 ? <p class="muted">No bars for this symbol.</p> : null}
        <div ref={box} class="chart" data-testid="chart" data-bars="0" />
      </section>
      <div class="cols">
        <Section title={`Corporate actions (${actions.length})`}>
          {actions.length === 0 ? (
            <p class="muted">None.</p>
          ) : (
            <table class="grid compact" data-testid="corporate-actions">
              <tbody>
                {actions.map((a) => (
                  <tr key={`${a.date}|${a.kind}`}>
                    <td>
                      <a href={dateLink(a.date)}>{a.date}</a>
                    </td>
                    <td>{a.kind}</td>
                    <td class="num">{a.value ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>
        <Section title={`Quality results (${quality.length})`}>
          <ErrorText error={events.error} />
          {quality.length === 0 ? (
            <p class="muted">No findings.</p>
          ) : (
            <div class="scroll-y">
              <table class="grid compact" data-testid="quality-table">
                <thead>
                  <tr>
                    <th>Date</th>
                    <th>Check</th>
                    <th>Severity</th>
                    <th>Message</th>
                    <th>Run</th>
                  </tr>
                </thead>
                <tbody>
                  {quality.map((q, i) => (
                    <tr key={i} data-testid="quality-row" data-severity={q.severity}>
                      <td>{q.date ? <a href={dateLink(q.date)}>{q.date}</a> : "–"}</td>
                      <td>{q.check_name}</td>
                      <td class={`sev-${q.severity}`}>{q.severity}</td>
                      <td>{q.message ?? ""}</td>
                      <td>{q.run_id ? <a href={`/runs/${seg(q.run_id)}`}>{q.run_id.slice(0, 8)}</a> : ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Section>
      </div>
    </div>
  );
}

function dateLink(date: string): string {
  const params = new URLSearchParams(location.search);
  params.set("date", date);
  return `${location.pathname}?${params}`;
}
