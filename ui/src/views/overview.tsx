import type { OverviewJson } from "../../../src/api/console-contract";
import { useApi } from "../api";
import { ErrorText, Loading, ReadOnlyNote, RunsTable, Section, StateBadge } from "../components";
import { duration, RUN_STATES } from "../format";
import { seg } from "../router";
import { PoolSlots } from "./pools";

export function OverviewView() {
  const { data, error } = useApi<OverviewJson>("/api/overview", 5000);
  return (
    <div class="page" data-testid="overview">
      <h1>Overview</h1>
      <ErrorText error={error} />
      {!data ? (
        error ? null : (
          <Loading />
        )
      ) : (
        <>
          <ReadOnlyNote />
          <div class="cols">
            <Section title="Runs, last 24 h">
              <div class="counts" data-testid="runs-24h">
                {RUN_STATES.filter((s) => (data.runs_24h[s] ?? 0) > 0).map((s) => (
                  <a key={s} href={`/runs?state=${s}&since=24h`} class="count" data-state={s}>
                    <StateBadge state={s} />
                    <b>{data.runs_24h[s]}</b>
                  </a>
                ))}
                {Object.values(data.runs_24h).every((n) => !n) ? (
                  <span class="muted">No runs in the last 24 h.</span>
                ) : null}
              </div>
            </Section>
            <Section title="Pool slots in use">
              <PoolSlots pools={data.pools} />
            </Section>
          </div>
          <Section title="Needs attention: failed, crashed and late">
            <div data-testid="attention">
              <RunsTable runs={data.attention} empty="Nothing failed, crashed or late in the last 24 h." />
            </div>
          </Section>
          <Section title="Next runs">
            <div data-testid="next-runs">
              <RunsTable runs={data.next_runs} upcoming empty="No scheduled runs." />
            </div>
          </Section>
          <div class="cols">
            <Section title="Data freshness">
              <table class="grid" data-testid="freshness">
                <thead>
                  <tr>
                    <th>Source</th>
                    <th>Latest loaded</th>
                    <th>Latest due (XNYS)</th>
                    <th>Behind</th>
                    <th title="Under a freshness rule of the deployments file">Deadline</th>
                    <th>Symbols</th>
                  </tr>
                </thead>
                <tbody>
                  {data.freshness.map((f) => (
                    <tr key={f.source} data-source={f.source} data-behind={f.sessions_behind}>
                      <td>
                        <a href={`/coverage?source=${seg(f.source)}`}>{f.source}</a>
                      </td>
                      <td>{f.latest_loaded ?? "never"}</td>
                      <td>{f.latest_due}</td>
                      <td class={f.sessions_behind > 0 ? "num warn" : "num ok"}>
                        {f.sessions_behind === 0
                          ? "fresh"
                          : `${f.sessions_behind} session${f.sessions_behind === 1 ? "" : "s"}`}
                      </td>
                      <td
                        class={f.overdue_seconds ? "warn" : f.overdue_seconds === 0 ? "ok" : "muted"}
                        data-testid="freshness-deadline"
                      >
                        {f.overdue_seconds === null
                          ? "no rule"
                          : f.overdue_seconds === 0
                            ? "met"
                            : `overdue ${duration(f.overdue_seconds * 1000)}`}
                      </td>
                      <td class="num">{f.symbols}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {data.freshness.length === 0 ? <p class="muted">No bars loaded yet.</p> : null}
            </Section>
            <Section title="Quality: latest validation">
              {data.quality.run_id ? (
                <p class="muted">
                  Run <a href={`/runs/${seg(data.quality.run_id)}`}>{data.quality.run_id.slice(0, 13)}</a>
                </p>
              ) : null}
              {data.quality.findings.length === 0 ? (
                <p class="muted">No findings.</p>
              ) : (
                <table class="grid" data-testid="quality-findings">
                  <thead>
                    <tr>
                      <th>Source</th>
                      <th>Check</th>
                      <th>Severity</th>
                      <th>Count</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.quality.findings.map((f) => (
                      <tr key={`${f.source}|${f.check_name}|${f.severity}`}>
                        <td>{f.source}</td>
                        <td>{f.check_name}</td>
                        <td class={`sev-${f.severity}`}>{f.severity}</td>
                        <td class="num">{f.count}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </Section>
          </div>
        </>
      )}
    </div>
  );
}
