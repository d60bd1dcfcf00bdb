import type { WorkPoolJson } from "../../../src/api/console-contract";
import { useApi } from "../api";
import { ActionButton, ErrorText, Loading, ReadOnlyNote, RunsTable, Section } from "../components";
import { seg } from "../router";

function limit(n: number | null): string {
  return n === null ? "∞" : String(n);
}

function Meter({ used, max }: { used: number; max: number | null }) {
  const pct = max ? Math.min(100, (used / max) * 100) : used > 0 ? 100 : 0;
  return (
    <span class="meter" title={`${used} of ${limit(max)}`}>
      <svg viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true">
        <rect width="100" height="8" class="meter-bg" />
        <rect width={pct} height="8" class={max !== null && used >= max ? "meter-full" : "meter-fg"} />
      </svg>
      <span class="num">
        {used}/{limit(max)}
      </span>
    </span>
  );
}

export function PoolSlots({ pools }: { pools: WorkPoolJson[] }) {
  if (pools.length === 0) return <p class="muted">No work pools.</p>;
  return (
    <table class="grid" data-testid="pool-slots">
      <tbody>
        {pools.map((p) => (
          <tr key={p.name}>
            <td>
              <a href="/pools">{p.name}</a>
              {p.paused ? <span class="tag paused">paused</span> : null}
            </td>
            <td>
              <Meter used={p.slots_in_use} max={p.concurrency_limit} />
            </td>
            <td class="num muted">{p.queued} queued</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function PoolPanel({ pool, reload }: { pool: WorkPoolJson; reload: () => void }) {
  const queued = useApi<WorkPoolJson>(`/api/work-pools/${seg(pool.name)}/queued`, 5000);
  return (
    <section class="panel" data-testid="pool" data-pool={pool.name} data-paused={String(pool.paused)}>
      <header class="panel-head">
        <h2>
          {pool.name} {pool.paused ? <span class="tag paused">paused</span> : null}
        </h2>
        <div class="panel-tools">
          {pool.paused ? (
            <ActionButton label="Resume" path={`/api/work-pools/${seg(pool.name)}/resume`} onDone={reload} />
          ) : (
            <ActionButton label="Pause" path={`/api/work-pools/${seg(pool.name)}/pause`} onDone={reload} />
          )}
        </div>
      </header>
      <p>
        Slots in use <Meter used={pool.slots_in_use} max={pool.concurrency_limit} /> · {pool.queued} queued
      </p>
      {pool.queues.length > 0 ? (
        <table class="grid" data-testid="queues">
          <thead>
            <tr>
              <th>Queue</th>
              <th>Priority</th>
              <th>Limit</th>
              <th>Slots in use</th>
              <th>Queued</th>
            </tr>
          </thead>
          <tbody>
            {pool.queues.map((q) => (
              <tr key={q.name} data-queue={q.name}>
                <td>{q.name}</td>
                <td class="num">{q.priority}</td>
                <td class="num">{limit(q.concurrency_limit)}</td>
                <td>
                  <Meter used={q.slots_in_use} max={q.concurrency_limit} />
                </td>
                <td class="num">{q.queued}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <h3>Queued runs, in claim order</h3>
      <ErrorText error={queued.error} />
      {queued.data ? (
        <div data-testid="queued-runs">
          <RunsTable runs={queued.data.queued_runs ?? []} upcoming empty="Nothing waiting." />
        </div>
      ) : null}
    </section>
  );
}

export function PoolsView() {
  const { data, error, reload } = useApi<WorkPoolJson[]>("/api/work-pools", 3000);
  return (
    <div class="page" data-testid="pools">
      <h1>Work pools</h1>
      <ReadOnlyNote />
      <ErrorText error={error} />
      {!data && !error ? <Loading /> : null}
      {data?.length === 0 ? (
        <Section title="Pools">{<p class="muted">No work pools registered.</p>}</Section>
      ) : null}
      {data?.map((p) => (
        <PoolPanel key={p.name} pool={p} reload={reload} />
      ))}
    </div>
  );
}
