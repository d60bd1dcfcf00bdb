import { useEffect, useRef, useState } from "preact/hooks";
import type {
  LogJson,
  RunDetailJson,
  RunGraphJson,
  RunNotificationJson,
  TaskRunJson,
  TransitionJson,
} from "../../../src/api/console-contract";
import { api, useApi } from "../api";
import { ActionButton, ErrorText, Loading, ReadOnlyNote, Section, StateBadge, Time } from "../components";
import { duration, isFinal, jsonText, localTime, span, stateVar, utcTitle } from "../format";
import { navigate, seg } from "../router";

const POLL_MS = 2000;

/** Task states whose `error` is no failure of the task (cancelled with the run, skipped). */
const NOT_FAILURES: ReadonlySet<string> = new Set(["Cancelled", "Skipped", "Retrying", "Running", "Pending"]);

export function RunView({ id }: { id: string }) {
  const [final, setFinal] = useState(false);
  const poll = final ? null : POLL_MS;
  const run = useApi<RunDetailJson>(`/api/runs/${seg(id)}`, poll);
  const transitions = useApi<TransitionJson[]>(`/api/runs/${seg(id)}/transitions`, poll);
  const graph = useApi<RunGraphJson>(`/api/runs/${seg(id)}/graph`);
  const state = run.data?.state;

  useEffect(() => {
    if (state) setFinal(isFinal(state));
  }, [state]);

  if (!run.data) {
    return (
      <div class="page">
        <h1>Run {id}</h1>
        <ErrorText error={run.error} />
        {run.error ? null : <Loading what="run" />}
      </div>
    );
  }
  const r = run.data;
  // What failed: a cancelled run (its tasks' error is "cancelled") or a skipped task is no failure.
  const failing = r.tasks.filter(
    (t) => t.state === "Failed" || t.state === "Crashed" || (t.error && !NOT_FAILURES.has(t.state)),
  );
  const runError = r.state === "Cancelled" || r.state === "Cancelling" ? null : r.error;
  return (
    <div class="page" data-testid="run" data-run-id={r.id}>
      <header class="page-head">
        <h1>
          Run <span class="mono">{r.id}</span>
        </h1>
        <StateBadge state={r.state} testid="run-state" />
        <span class="spacer" />
        {isFinal(r.state) ? (
          <ActionButton<{ id: string }>
            label="Retry"
            path={`/api/runs/${seg(r.id)}/retry`}
            onDone={(answer) => navigate(`/runs/${seg(answer.id)}`)}
          />
        ) : (
          <ActionButton
            label="Cancel"
            kind="danger"
            path={`/api/runs/${seg(r.id)}/cancel`}
            onDone={() => {
              run.reload();
              transitions.reload();
            }}
          />
        )}
      </header>
      <ReadOnlyNote />
      <ErrorText error={run.error} />
      <dl class="facts">
        <dt>Pipeline</dt>
        <dd>
          {r.pipeline}
          {r.pipeline_file ? <span class="muted mono"> {r.pipeline_file}</span> : null}
        </dd>
        <dt>Deployment</dt>
        <dd>{r.deployment ? <a href={`/deployments/${seg(r.deployment)}`}>{r.deployment}</a> : "–"}</dd>
        <dt>Logical date</dt>
        <dd>{r.logical_date ?? "–"}</dd>
        <dt>Scheduled</dt>
        <dd>
          <Time iso={r.scheduled_at} />
        </dd>
        <dt>Created</dt>
        <dd>
          <Time iso={r.created_at} />
        </dd>
        <dt>Started</dt>
        <dd>
          <Time iso={r.started_at} />
        </dd>
        <dt>Ended</dt>
        <dd>
          <Time iso={r.ended_at} />
        </dd>
        <dt>Duration</dt>
        <dd>{span(r.started_at, r.ended_at) || "–"}</dd>
      </dl>

      {runError || failing.length > 0 ? (
        <section class="panel failure" data-testid="run-error">
          <h2>Error</h2>
          {failing.map((t) => (
            <div key={t.task_id} class="failure-task" data-testid="failed-task" data-task={t.task_id}>
              <p>
                Task <b class="mono">{t.task_id}</b> <StateBadge state={t.state} />{" "}
                <span class="muted">
                  {t.step}, {t.attempts} attempt{t.attempts === 1 ? "" : "s"}
                </span>
              </p>
              {t.error ? <pre class="error-text">{t.error}</pre> : null}
            </div>
          ))}
          {runError && !failing.some((t) => t.error && runError.includes(t.error)) ? (
            <pre class="error-text">{runError}</pre>
          ) : null}
        </section>
      ) : null}

      <div class="cols">
        <Section title="Parameters">
          <pre class="json" data-testid="run-parameters">
            {jsonText(r.parameters)}
          </pre>
        </Section>
        <Section title="State history">
          <StateHistory transitions={(transitions.data ?? []).filter((t) => t.task_id === null)} />
          <ErrorText error={transitions.error} />
        </Section>
      </div>

      <Section title="Timeline">
        <Timeline run={r} transitions={transitions.data ?? []} />
      </Section>

      <Section title="Task graph">
        <TaskGraph graph={graph.data} error={graph.error} tasks={r.tasks} />
      </Section>

      <Section title="Tasks and outputs">
        <TaskTable tasks={r.tasks} />
      </Section>

      <Notifications id={r.id} live={!isFinal(r.state)} />

      <Logs id={r.id} live={!isFinal(r.state)} />
    </div>
  );
}

/** What the deployments file's rules sent about the run, and how delivery went (none: no panel). */
function Notifications({ id, live }: { id: string; live: boolean }) {
  const [pending, setPending] = useState(true);
  const sent = useApi<RunNotificationJson[]>(
    `/api/runs/${seg(id)}/notifications`,
    live || pending ? 5000 : null,
  );
  const rows = sent.data ?? [];
  useEffect(() => {
    if (sent.data) setPending(sent.data.some((n) => !n.delivered_at && !n.failed_at));
  }, [sent.data]);
  if (rows.length === 0) return null;
  return (
    <Section title="Notifications">
      <table class="grid" data-testid="notifications">
        <thead>
          <tr>
            <th>Event</th>
            <th>Channel</th>
            <th>Delivery</th>
            <th>Attempts</th>
            <th>Last error</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((n) => (
            <tr key={`${n.event}:${n.channel}`} data-testid="notification">
              <td>{n.event}</td>
              <td>{n.channel}</td>
              <td class={n.delivered_at ? "ok" : n.failed_at ? "warn" : "muted"}>
                {n.delivered_at ? (
                  <>
                    delivered <Time iso={n.delivered_at} />
                  </>
                ) : n.failed_at ? (
                  <>
                    gave up <Time iso={n.failed_at} />
                  </>
                ) : (
                  <>
                    next attempt <Time iso={n.next_attempt_at} />
                  </>
                )}
              </td>
              <td class="num">{n.attempts}</td>
              <td>{n.last_error ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function StateHistory({ transitions }: { transitions: TransitionJson[] }) {
  if (transitions.length === 0) return <p class="muted">No state changes recorded.</p>;
  return (
    <ol class="history" data-testid="state-history">
      {transitions.map((t) => (
        <li key={`${t.ts}|${t.seq}`}>
          <Time iso={t.ts} /> <StateBadge state={t.state} />
          {t.message ? <span class="muted"> {t.message}</span> : null}
        </li>
      ))}
    </ol>
  );
}

function TaskTable({ tasks }: { tasks: TaskRunJson[] }) {
  if (tasks.length === 0) return <p class="muted">No task has started.</p>;
  return (
    <table class="grid" data-testid="task-table">
      <thead>
        <tr>
          <th>Task</th>
          <th>Step</th>
          <th>State</th>
          <th>Attempts</th>
          <th>Started</th>
          <th>Duration</th>
          <th>Outputs</th>
        </tr>
      </thead>
      <tbody>
        {tasks.map((t) => (
          <tr key={t.task_id} data-testid="task" data-task={t.task_id} data-state={t.state}>
            <td class="mono">{t.task_id}</td>
            <td class="mono">{t.step}</td>
            <td>
              <StateBadge state={t.state} />
              {t.cache_key ? (
                <span class="muted" title={t.cache_key}>
                  {" "}
                  cached key
                </span>
              ) : null}
            </td>
            <td class="num">{t.attempts}</td>
            <td>
              <Time iso={t.started_at} />
            </td>
            <td class="num">{span(t.started_at, t.ended_at)}</td>
            <td>
              {t.outputs && Object.keys(t.outputs).length > 0 ? (
                <details>
                  <summary>{Object.keys(t.outputs).join(", ")}</summary>
                  <pre class="json" data-testid="task-outputs">
                    {jsonText(t.outputs)}
                  </pre>
                </details>
              ) : (
                <span class="muted">–</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/* ---------- timeline ---------- */

interface Segment {
  /** The attempt's outcome for a run segment (Completed, Failed, Retrying, ...), else the waiting state. */
  state: string;
  kind: "run" | "wait";
  attempt: number;
  from: number;
  to: number;
  message: string | null;
}

/**
 * A task's segments from its transitions: each `Running` starts an attempt that lasts to the next
 * transition and takes that transition's state as its colour (a retried attempt shows `Retrying`);
 * waiting states (Pending, Retrying before the next attempt) are thin segments.
 */
function segments(task: TaskRunJson, transitions: TransitionJson[], now: number): Segment[] {
  const own = transitions.filter((t) => t.task_id === task.task_id);
  const end = task.ended_at ? Date.parse(task.ended_at) : now;
  if (own.length === 0) {
    if (!task.started_at) return [];
    const from = Date.parse(task.started_at);
    return [{ state: task.state, kind: "run", attempt: task.attempts, from, to: end, message: null }];
  }
  const out: Segment[] = [];
  own.forEach((t, i) => {
    const from = Date.parse(t.ts);
    const next = own[i + 1];
    const to = Math.max(from, next ? Date.parse(next.ts) : end);
    if (t.state === "Running") {
      const outcome = next ? next.state : task.ended_at ? task.state : "Running";
      out.push({
        state: outcome,
        kind: "run",
        attempt: t.attempt,
        from,
        to,
        message: next?.message ?? t.message,
      });
    } else if (next && !isFinal(t.state)) {
      out.push({ state: t.state, kind: "wait", attempt: t.attempt, from, to, message: t.message });
    } else if (!next && !isFinal(t.state) && !task.ended_at) {
      out.push({ state: t.state, kind: "wait", attempt: t.attempt, from, to: now, message: t.message });
    }
  });
  return out;
}

function useWidth(fallback: number): [(el: HTMLDivElement | null) => void, number] {
  const [width, setWidth] = useState(fallback);
  const observer = useRef<ResizeObserver | null>(null);
  const ref = (el: HTMLDivElement | null) => {
    observer.current?.disconnect();
    if (!el) return;
    observer.current = new ResizeObserver(() => setWidth(el.clientWidth || fallback));
    observer.current.observe(el);
  };
  useEffect(() => () => observer.current?.disconnect(), []);
  return [ref, width];
}

function Timeline({ run, transitions }: { run: RunDetailJson; transitions: TransitionJson[] }) {
  const [wrapRef, measured] = useWidth(900);
  const now = Date.now();
  const tasks = [...run.tasks].sort(
    (a, b) => (a.started_at ?? "~").localeCompare(b.started_at ?? "~") || a.task_id.localeCompare(b.task_id),
  );
  const rows = tasks.map((t) => ({ task: t, segs: segments(t, transitions, now) }));
  const times = rows.flatMap((r) => r.segs.flatMap((s) => [s.from, s.to]));
  if (run.started_at) times.push(Date.parse(run.started_at));
  const t0 = times.length ? Math.min(...times) : now;
  const t1 = Math.max(
    ...times,
    run.ended_at ? Date.parse(run.ended_at) : isFinal(run.state) ? t0 : now,
    t0 + 1,
  );
  const width = Math.max(600, measured);
  const label = 190;
  const rowH = 22;
  const plot = width - label - 80;
  const x = (t: number) => label + ((t - t0) / (t1 - t0)) * plot;
  const height = rows.length * rowH + 24;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => t0 + f * (t1 - t0));
  return (
    <div class="scroll-x" ref={wrapRef}>
      {tasks.length === 0 ? <p class="muted">No task instances yet.</p> : null}
      <svg
        class="timeline"
        data-testid="timeline"
        width={width}
        height={tasks.length ? height : 0}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label="timeline of the task instances"
      >
        {ticks.map((t) => (
          <g key={t}>
            <line x1={x(t)} x2={x(t)} y1={0} y2={height - 16} class="tick" />
            <text x={x(t)} y={height - 4} class="tick-label" text-anchor="middle">
              {t === t0 ? "0" : `+${duration(t - t0)}`}
            </text>
          </g>
        ))}
        {rows.map(({ task, segs }, i) => {
          const y = i * rowH + 2;
          const attempts = Math.max(task.attempts, ...segs.map((s) => s.attempt));
          return (
            <g
              key={task.task_id}
              data-testid="task-row"
              data-task={task.task_id}
              data-state={task.state}
              data-attempts={attempts}
              data-segments={segs.length}
            >
              <title>{`${task.task_id} (${task.step}): ${task.state}, ${task.attempts} attempt(s)`}</title>
              <text x={4} y={y + 14} class="row-label">
                {task.task_id.length > 26 ? `${task.task_id.slice(0, 25)}…` : task.task_id}
              </text>
              {segs.map((s, k) => {
                const w = Math.max(2, x(s.to) - x(s.from));
                const wait = s.kind === "wait";
                return (
                  <g
                    key={k}
                    data-testid="task-segment"
                    data-state={s.state}
                    data-attempt={s.attempt}
                    data-kind={s.kind}
                  >
                    <rect
                      x={x(s.from)}
                      y={wait ? y + 9 : y + 3}
                      width={w}
                      height={wait ? 4 : rowH - 8}
                      rx={2}
                      fill={stateVar(s.state)}
                      opacity={wait ? 0.6 : 1}
                    >
                      <title>{`${task.task_id} attempt ${s.attempt}: ${wait ? `${s.state} (waiting)` : `ran, ${s.state}`} at ${localTime(new Date(s.from).toISOString())}, ${duration(s.to - s.from)}${s.message ? ` — ${s.message}` : ""}`}</title>
                    </rect>
                    {!wait && attempts > 1 && w > 18 ? (
                      <text x={x(s.from) + 3} y={y + 14} class="seg-label">
                        {`#${s.attempt}`}
                      </text>
                    ) : null}
                  </g>
                );
              })}
              <text x={width - 74} y={y + 14} class="row-note">
                {attempts > 1 ? `${attempts} attempts` : task.state}
              </text>
            </g>
          );
        })}
      </svg>
      {tasks.length ? (
        <div class="legend muted">
          One row per task instance; a bar per attempt from its start to its end, coloured by its outcome (a
          retried attempt shows Retrying); thin bars are waits. Hover for details. From{" "}
          <Time iso={new Date(t0).toISOString()} />.
        </div>
      ) : null}
    </div>
  );
}

/* ---------- task graph ---------- */

const SEVERITY = [
  "Failed",
  "Crashed",
  "Running",
  "Retrying",
  "Cancelling",
  "Cancelled",
  "Pending",
  "Skipped",
  "Cached",
  "Completed",
];

/** The state a graph node shows for its instances (a for_each node has many): the most telling one. */
function nodeState(states: string[]): string {
  if (states.length === 0) return "Scheduled";
  for (const s of SEVERITY) if (states.includes(s)) return s;
  return states[0]!;
}

function TaskGraph({
  graph,
  error,
  tasks,
}: {
  graph: RunGraphJson | undefined;
  error: string | null;
  tasks: TaskRunJson[];
}) {
  if (!graph) return error ? <ErrorText error={`task graph: ${error}`} /> : <Loading what="graph" />;
  if (!graph.available)
    return <p class="muted">Task graph unavailable: {graph.reason ?? "unknown reason"}</p>;
  const layer = new Map<string, number>();
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const depth = (id: string, seen: Set<string>): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0;
    seen.add(id);
    const needs = byId.get(id)?.needs ?? [];
    const d = needs.length === 0 ? 0 : 1 + Math.max(...needs.map((n) => depth(n, seen)));
    layer.set(id, d);
    return d;
  };
  for (const n of graph.nodes) depth(n.id, new Set());
  const columns: string[][] = [];
  for (const n of graph.nodes) {
    const d = layer.get(n.id) ?? 0;
    while (columns.length <= d) columns.push([]);
    columns[d]!.push(n.id);
  }
  const nodeW = 150;
  const nodeH = 38;
  const gapX = 60;
  const gapY = 14;
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((col, c) => {
    col.forEach((id, r) => {
      pos.set(id, { x: 10 + c * (nodeW + gapX), y: 10 + r * (nodeH + gapY) });
    });
  });
  const width = 20 + columns.length * (nodeW + gapX) - gapX;
  const height = 20 + Math.max(...columns.map((c) => c.length)) * (nodeH + gapY) - gapY;
  const instances = (id: string) => tasks.filter((t) => t.task_id === id || t.task_id.startsWith(`${id}[`));
  return (
    <div class="scroll-x">
      <svg
        class="graph"
        data-testid="task-graph"
        viewBox={`0 0 ${width} ${height}`}
        width={width}
        height={height}
        role="img"
        aria-label="task graph"
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="10"
            refY="5"
            markerWidth="6"
            markerHeight="6"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" class="edge-head" />
          </marker>
        </defs>
        {graph.nodes.flatMap((n) =>
          n.needs.map((need) => {
            const a = pos.get(need);
            const b = pos.get(n.id);
            if (!a || !b) return null;
            const x1 = a.x + nodeW;
            const y1 = a.y + nodeH / 2;
            const x2 = b.x;
            const y2 = b.y + nodeH / 2;
            const mx = (x1 + x2) / 2;
            return (
              <path
                key={`${need}->${n.id}`}
                d={`M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`}
                class="edge"
                marker-end="url(#arrow)"
              />
            );
          }),
        )}
        {graph.nodes.map((n) => {
          const p = pos.get(n.id)!;
          const inst = instances(n.id);
          const state = nodeState(inst.map((t) => t.state));
          return (
            <g
              key={n.id}
              data-testid="graph-node"
              data-task={n.id}
              data-state={state}
              transform={`translate(${p.x},${p.y})`}
            >
              <title>{`${n.id} (${n.step})${n.needs.length ? `, needs ${n.needs.join(", ")}` : ""}: ${
                inst.length ? inst.map((t) => `${t.task_id} ${t.state}`).join("; ") : "not started"
              }`}</title>
              <rect width={nodeW} height={nodeH} rx={5} class="node" />
              <rect width={6} height={nodeH} rx={2} fill={stateVar(state)} />
              <text x={12} y={16} class="node-label">
                {n.id.length > 20 ? `${n.id.slice(0, 19)}…` : n.id}
              </text>
              <text x={12} y={30} class="node-sub">
                {`${n.step.length > 16 ? `${n.step.slice(0, 15)}…` : n.step} · ${n.for_each ? `${inst.length}× ` : ""}${state}`}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}

/* ---------- logs ---------- */

const LEVELS = ["debug", "info", "warn", "error"] as const;

function Logs({ id, live }: { id: string; live: boolean }) {
  const [lines, setLines] = useState<LogJson[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [level, setLevel] = useState<(typeof LEVELS)[number]>("info");
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  const cursor = useRef<{ ts: string; seq: number } | null>(null);
  const liveRef = useRef(live);
  liveRef.current = live;

  useEffect(() => {
    setLines([]);
    cursor.current = null;
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let finalPasses = 0;
    const pull = async () => {
      try {
        for (;;) {
          const c = cursor.current;
          const qs = new URLSearchParams({ limit: "1000" });
          if (c) {
            qs.set("after_ts", c.ts);
            qs.set("after_seq", String(c.seq));
          }
          const batch = await api<LogJson[]>(`/api/runs/${seg(id)}/logs?${qs}`, { signal: ctl.signal });
          if (ctl.signal.aborted) return;
          if (batch.length > 0) {
            const last = batch[batch.length - 1]!;
            cursor.current = { ts: last.ts, seq: last.seq };
            setLines((old) =>
              old.length + batch.length > 20_000 ? [...old, ...batch].slice(-20_000) : [...old, ...batch],
            );
          }
          if (batch.length < 1000) break;
        }
        setError(null);
      } catch (err) {
        if (ctl.signal.aborted) return;
        setError((err as Error).message);
      }
      // Live tail while the run is not final, then one more pass for the last lines.
      if (liveRef.current || finalPasses++ < 1) timer = setTimeout(pull, 1500);
    };
    void pull();
    return () => {
      ctl.abort();
      if (timer) clearTimeout(timer);
    };
  }, [id]);

  const min = LEVELS.indexOf(level);
  const shown = lines.filter((l) => LEVELS.indexOf(l.level) >= min);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown.length, follow]);

  return (
    <Section
      title="Logs"
      right={
        <>
          <label>
            Level{" "}
            <select
              data-testid="log-level"
              value={level}
              onChange={(e) => setLevel((e.target as HTMLSelectElement).value as (typeof LEVELS)[number])}
            >
              {LEVELS.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          <label>
            <input
              type="checkbox"
              checked={follow}
              onChange={(e) => setFollow((e.target as HTMLInputElement).checked)}
            />{" "}
            follow
          </label>
          {live ? <span class="live">● live</span> : null}
        </>
      }
    >
      <ErrorText error={error} />
      <div class="logs" ref={box} data-testid="logs" data-lines={shown.length}>
        {shown.length === 0 ? (
          <div class="muted">No log lines{lines.length ? " at this level" : ""}.</div>
        ) : null}
        {shown.map((l) => (
          <div
            key={`${l.ts}|${l.seq}|${l.task_id ?? ""}`}
            class={`log lvl-${l.level}`}
            data-testid="log-line"
            data-level={l.level}
          >
            <time dateTime={l.ts} title={utcTitle(l.ts)}>
              {localTime(l.ts).slice(11)}
            </time>
            <span class="lvl">{l.level}</span>
            <span class="task">{l.task_id ?? ""}</span>
            <span class="msg">{l.message}</span>
          </div>
        ))}
      </div>
    </Section>
  );
}
