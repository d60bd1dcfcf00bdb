import { useEffect, useState } from "preact/hooks";
import type { DeploymentJson, RunJson, RunsPageJson } from "../../../src/api/console-contract";
import { api, useApi } from "../api";
import { ErrorText, Loading, RunsTable } from "../components";
import { RUN_STATES } from "../format";
import { setQuery, useLocation } from "../router";

const FILTERS = ["state", "deployment", "pipeline", "since"] as const;
const PAGE = 50;

export function RunsView() {
  const { query } = useLocation();
  const params = new URLSearchParams({ limit: String(PAGE) });
  for (const key of FILTERS) {
    const value = query.get(key);
    if (value) params.set(key, value);
  }
  const filterKey = params.toString();
  // The first page is polled (live); older pages are appended by "Load more" and kept.
  const first = useApi<RunsPageJson>(`/api/runs/page?${filterKey}`, 2000);
  const deployments = useApi<DeploymentJson[]>("/api/deployments");
  const [older, setOlder] = useState<RunJson[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [moreError, setMoreError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setOlder([]);
    setCursor(undefined);
    setMoreError(null);
  }, [filterKey]);

  const firstRuns = first.data?.runs ?? [];
  const seen = new Set(firstRuns.map((r) => r.id));
  const runs = [...firstRuns, ...older.filter((r) => !seen.has(r.id))];
  const next = cursor === undefined ? (first.data?.next ?? null) : cursor;

  const loadMore = async () => {
    if (!next) return;
    setBusy(true);
    try {
      const page = await api<RunsPageJson>(`/api/runs/page?${filterKey}&before=${encodeURIComponent(next)}`);
      setOlder((o) => [...o, ...page.runs]);
      setCursor(page.next);
      setMoreError(null);
    } catch (err) {
      setMoreError((err as Error).message);
    }
    setBusy(false);
  };

  const [pipelineText, setPipelineText] = useState(query.get("pipeline") ?? "");
  const [sinceText, setSinceText] = useState(query.get("since") ?? "");
  // Links (overview counts, back/forward) change the URL under a mounted view: follow them.
  const urlPipeline = query.get("pipeline") ?? "";
  const urlSince = query.get("since") ?? "";
  useEffect(() => setPipelineText(urlPipeline), [urlPipeline]);
  useEffect(() => setSinceText(urlSince), [urlSince]);

  return (
    <div class="page" data-testid="runs">
      <h1>Runs</h1>
      <form
        class="filters"
        data-testid="run-filters"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ pipeline: pipelineText.trim(), since: sinceText.trim() });
        }}
      >
        <label>
          State
          <select
            name="state"
            value={query.get("state") ?? ""}
            onChange={(e) => setQuery({ state: (e.target as HTMLSelectElement).value })}
          >
            <option value="">any</option>
            {RUN_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Deployment
          <select
            name="deployment"
            value={query.get("deployment") ?? ""}
            onChange={(e) => setQuery({ deployment: (e.target as HTMLSelectElement).value })}
          >
            <option value="">any</option>
            {(deployments.data ?? []).map((d) => (
              <option key={d.name} value={d.name}>
                {d.name}
              </option>
            ))}
            {query.get("deployment") && !deployments.data?.some((d) => d.name === query.get("deployment")) ? (
              <option value={query.get("deployment")!}>{query.get("deployment")}</option>
            ) : null}
          </select>
        </label>
        <label>
          Pipeline
          <input
            name="pipeline"
            value={pipelineText}
            placeholder="any"
            onInput={(e) => setPipelineText((e.target as HTMLInputElement).value)}
          />
        </label>
        <label title="a duration back (2h, 7d), a date YYYY-MM-DD or an ISO instant">
          Since
          <input
            name="since"
            value={sinceText}
            placeholder="24h, 7d, 2026-01-02"
            onInput={(e) => setSinceText((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit">Filter</button>
        <a href="/runs" class="button-link">
          Clear
        </a>
        <span class="live muted" title="the newest page refreshes every 2 s">
          ● live
        </span>
      </form>
      <ErrorText error={first.error} />
      {!first.data && !first.error ? <Loading what="runs" /> : null}
      {first.data ? (
        <section class="panel">
          <RunsTable runs={runs} empty="No runs match." />
          <div class="more">
            <span class="muted">{runs.length} shown</span>
            {next ? (
              <button type="button" onClick={loadMore} disabled={busy} data-testid="load-more">
                Load more
              </button>
            ) : (
              <span class="muted">end of history</span>
            )}
            <ErrorText error={moreError} />
          </div>
        </section>
      ) : null}
    </div>
  );
}
