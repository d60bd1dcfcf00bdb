import { useContext, useState } from "preact/hooks";
import type {
  DeploymentDetailJson,
  DeploymentJson,
  ParameterDeclarationJson,
} from "../../../src/api/console-contract";
import { api, useApi } from "../api";
import {
  ActionButton,
  DateField,
  ErrorText,
  Loading,
  ReadOnlyNote,
  RunsTable,
  Section,
  Time,
  Writable,
} from "../components";
import { jsonText, todayIso } from "../format";
import { navigate, seg } from "../router";

export function DeploymentsView() {
  const { data, error, reload } = useApi<DeploymentJson[]>("/api/deployments", 10_000);
  return (
    <div class="page" data-testid="deployments">
      <h1>Deployments</h1>
      <ReadOnlyNote />
      <ErrorText error={error} />
      {!data && !error ? <Loading /> : null}
      {data ? (
        <section class="panel">
          <table class="grid">
            <thead>
              <tr>
                <th>Name</th>
                <th>Pipeline</th>
                <th>Pool / queue</th>
                <th>Next run</th>
                <th>Tags</th>
                <th>Status</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {data.map((d) => (
                <tr
                  key={d.name}
                  data-testid="deployment-row"
                  data-name={d.name}
                  data-paused={String(d.paused)}
                >
                  <td>
                    <a href={`/deployments/${seg(d.name)}`}>{d.name}</a>
                  </td>
                  <td>{d.pipeline}</td>
                  <td>
                    {d.work_pool ?? "–"}
                    {d.work_queue ? ` / ${d.work_queue}` : ""}
                  </td>
                  <td>
                    <Time iso={d.next_run} rel />
                  </td>
                  <td>
                    {d.tags.map((t) => (
                      <span key={t} class="tag">
                        {t}
                      </span>
                    ))}
                  </td>
                  <td>{d.paused ? <span class="tag paused">paused</span> : "active"}</td>
                  <td class="actions">
                    <PauseButton name={d.name} paused={d.paused} onDone={reload} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.length === 0 ? (
            <p class="muted">
              No deployments: register some with <code>tickflow deploy</code>.
            </p>
          ) : null}
        </section>
      ) : null}
    </div>
  );
}

function PauseButton({ name, paused, onDone }: { name: string; paused: boolean; onDone: () => void }) {
  return paused ? (
    <ActionButton label="Resume" path={`/api/deployments/${seg(name)}/resume`} onDone={onDone} />
  ) : (
    <ActionButton label="Pause" path={`/api/deployments/${seg(name)}/pause`} onDone={onDone} />
  );
}

export function DeploymentView({ name }: { name: string }) {
  const { data, error, reload } = useApi<DeploymentDetailJson>(`/api/deployments/${seg(name)}`, 5000);
  if (!data) {
    return (
      <div class="page">
        <h1>{name}</h1>
        <ErrorText error={error} />
        {error ? null : <Loading />}
      </div>
    );
  }
  const d = data;
  return (
    <div class="page" data-testid="deployment" data-name={d.name} data-paused={String(d.paused)}>
      <header class="page-head">
        <h1>{d.name}</h1>
        {d.paused ? <span class="tag paused">paused</span> : null}
        <span class="spacer" />
        <PauseButton name={d.name} paused={d.paused} onDone={reload} />
      </header>
      <ReadOnlyNote />
      <ErrorText error={error} />
      <dl class="facts">
        <dt>Pipeline</dt>
        <dd>
          {d.pipeline} <span class="muted mono">{d.pipeline_file}</span>
        </dd>
        <dt>Work pool</dt>
        <dd>
          <a href="/pools">{d.work_pool ?? "–"}</a>
          {d.work_queue ? ` / ${d.work_queue}` : ""}
        </dd>
        <dt>Concurrency</dt>
        <dd>
          {d.concurrency_limit ?? "no limit"} ({d.collision_strategy})
        </dd>
        <dt>Missed runs</dt>
        <dd>{d.missed_runs}</dd>
        <dt>Next run</dt>
        <dd data-testid="deployment-next-run">
          <NextRun deployment={d} />
        </dd>
        <dt>Parameters</dt>
        <dd>
          <code>{JSON.stringify(d.parameters)}</code>
        </dd>
      </dl>

      <Section title="Schedules">
        {d.schedules.length === 0 ? <p class="muted">No schedules: runs only on demand.</p> : null}
        {d.schedules.map((s) => (
          <div key={s.id} class="schedule" data-testid="schedule" data-active={String(s.active)}>
            <p>
              <b>{s.description}</b>{" "}
              <span class="muted mono">
                {s.trigger}
                {s.calendar ? `, calendar ${s.calendar}` : ""}
              </span>
              {!s.active ? <span class="tag">inactive</span> : null}
              {s.paused ? <span class="tag paused">paused</span> : null}
            </p>
            {s.fires.length > 0 ? (
              <table class="grid compact">
                <thead>
                  <tr>
                    <th>Next fires (local to the schedule)</th>
                    <th>Your time</th>
                    <th>Notes</th>
                  </tr>
                </thead>
                <tbody>
                  {s.fires.map((f) => (
                    <tr key={f.at} data-testid="fire">
                      <td class="mono">{f.local}</td>
                      <td>
                        <Time iso={f.at} />
                      </td>
                      <td>{f.notes.join("; ")}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
            {s.skipped.length > 0 ? (
              <ul class="skipped">
                {s.skipped.map((k) => (
                  <li key={k.at}>
                    skipped <span class="mono">{k.local}</span>: {k.reason}
                  </li>
                ))}
              </ul>
            ) : null}
          </div>
        ))}
      </Section>

      <div class="cols">
        <Section title="Run now">
          {d.pipeline_error ? <ErrorText error={`pipeline: ${d.pipeline_error}`} /> : null}
          <RunNowForm deployment={d} />
        </Section>
        <Section title="Backfill">
          <BackfillForm name={d.name} onDone={reload} />
        </Section>
      </div>

      <Section title="Recent runs">
        <RunsTable runs={d.recent_runs} empty="No runs yet." />
        <p>
          <a href={`/runs?deployment=${seg(d.name)}`}>All runs of {d.name}</a>
        </p>
      </Section>
    </div>
  );
}

/**
 * The next run: the earliest Scheduled one (the scheduler creates them an hour ahead), else the
 * earliest fire of the active schedules, else none (paused, or runs only on demand).
 */
function NextRun({ deployment: d }: { deployment: DeploymentDetailJson }) {
  if (d.next_run) return <Time iso={d.next_run} rel />;
  const fire = d.paused
    ? undefined
    : d.schedules
        .filter((s) => s.active && !s.paused)
        .flatMap((s) => s.fires.map((f) => f.at))
        .sort()[0];
  if (!fire) return <span class="muted">{d.paused ? "none: paused" : "none: on demand only"}</span>;
  return (
    <>
      <Time iso={fire} rel /> <span class="muted">(next fire)</span>
    </>
  );
}

/* ---------- Run now: a form made from the parameter declarations ---------- */

type FieldValue = string | boolean;

function initialValue(decl: ParameterDeclarationJson, current: unknown): FieldValue {
  const v = current !== undefined ? current : decl.default;
  if (decl.type === "boolean") return v === true;
  if (v === undefined || v === null) return "";
  if (decl.type === "array" || decl.type === "object") return JSON.stringify(v);
  return String(v);
}

/** The form's text to a JSON value of the declared type; the server checks it properly. */
function toValue(decl: ParameterDeclarationJson, raw: FieldValue): { value?: unknown; error?: string } {
  if (decl.type === "boolean") return { value: raw === true };
  const text = String(raw).trim();
  if (text === "") return {};
  if (decl.type === "integer" || decl.type === "number") {
    const n = Number(text);
    return Number.isFinite(n) ? { value: n } : { error: "not a number" };
  }
  if (decl.type === "array" || decl.type === "object") {
    if (decl.type === "array" && !text.startsWith("[")) {
      // Comma-separated shorthand for arrays of scalars.
      const items = text
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const numeric = decl.items?.type === "integer" || decl.items?.type === "number";
      return { value: numeric ? items.map(Number) : items };
    }
    try {
      return { value: JSON.parse(text) };
    } catch {
      return { error: "not valid JSON" };
    }
  }
  if (decl.enum) {
    const match = decl.enum.find((e) => String(e) === text);
    return { value: match ?? text };
  }
  return { value: text };
}

function RunNowForm({ deployment }: { deployment: DeploymentDetailJson }) {
  const writable = useContext(Writable);
  const decls = Object.entries(deployment.parameter_declarations);
  const [values, setValues] = useState<Record<string, FieldValue>>(() =>
    Object.fromEntries(decls.map(([k, decl]) => [k, initialValue(decl, deployment.parameters[k])])),
  );
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: string, v: FieldValue) => setValues((old) => ({ ...old, [k]: v }));

  const submit = async (e: Event) => {
    e.preventDefault();
    const parameters: Record<string, unknown> = {};
    for (const [k, decl] of decls) {
      const { value, error: bad } = toValue(decl, values[k] ?? "");
      if (bad) {
        setError(`${k}: ${bad}`);
        return;
      }
      if (value !== undefined) parameters[k] = value;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await api<{ id: string }>(`/api/deployments/${seg(deployment.name)}/runs`, {
        method: "POST",
        body: { parameters },
      });
      navigate(`/runs/${seg(answer.id)}`);
    } catch (err) {
      setError((err as Error).message);
    }
    setBusy(false);
  };

  return (
    <form class="form" data-testid="run-now-form" onSubmit={submit}>
      {decls.length === 0 ? <p class="muted">The pipeline declares no parameters.</p> : null}
      {decls.map(([k, decl]) => (
        <ParamField key={k} name={k} decl={decl} value={values[k] ?? ""} onChange={(v) => set(k, v)} />
      ))}
      <ErrorText error={error} />
      <div>
        <button type="submit" class="primary" disabled={!writable || busy}>
          Run now
        </button>
      </div>
    </form>
  );
}

function ParamField({
  name,
  decl,
  value,
  onChange,
}: {
  name: string;
  decl: ParameterDeclarationJson;
  value: FieldValue;
  onChange: (v: FieldValue) => void;
}) {
  const id = `param-${name}`;
  const text = (e: Event) => onChange((e.target as HTMLInputElement).value);
  let input: preact.JSX.Element;
  if (decl.type === "boolean") {
    input = (
      <input
        id={id}
        name={name}
        type="checkbox"
        checked={value === true}
        onChange={(e) => onChange((e.target as HTMLInputElement).checked)}
      />
    );
  } else if (decl.enum && decl.type !== "array") {
    input = (
      <select id={id} name={name} value={String(value)} onChange={text}>
        {decl.default === undefined ? <option value="">(none)</option> : null}
        {decl.enum.map((e) => (
          <option key={String(e)} value={String(e)}>
            {String(e)}
          </option>
        ))}
      </select>
    );
  } else if (decl.type === "integer" || decl.type === "number") {
    input = (
      <input
        id={id}
        name={name}
        type="number"
        step={decl.type === "integer" ? 1 : "any"}
        min={decl.minimum}
        max={decl.maximum}
        value={String(value)}
        onInput={text}
      />
    );
  } else if (decl.type === "date") {
    input = <input id={id} name={name} type="date" value={String(value)} onInput={text} />;
  } else if (decl.type === "array" || decl.type === "object") {
    input = <textarea id={id} name={name} rows={2} class="mono" value={String(value)} onInput={text} />;
  } else {
    input = (
      <input id={id} name={name} type="text" value={String(value)} pattern={decl.pattern} onInput={text} />
    );
  }
  const hint = [
    decl.type + (decl.items ? ` of ${decl.items.type}` : ""),
    decl.enum && decl.type === "array" ? `one of ${decl.enum.map(String).join(", ")}` : null,
    decl.items?.enum ? `items: ${decl.items.enum.map(String).join(", ")}` : null,
    decl.minimum !== undefined ? `≥ ${decl.minimum}` : null,
    decl.maximum !== undefined ? `≤ ${decl.maximum}` : null,
    decl.type === "array" ? "JSON or comma-separated" : null,
    decl.default !== undefined ? `default ${jsonText(decl.default).replace(/\s+/g, " ")}` : null,
  ]
    .filter(Boolean)
    .join(" · ");
  return (
    <div class="field" data-testid="param-field" data-param={name} data-type={decl.type}>
      <label for={id}>{name}</label>
      {input}
      <small class="muted">
        {decl.description ? `${decl.description} — ` : ""}
        {hint}
      </small>
    </div>
  );
}

/* ---------- Backfill ---------- */

function BackfillForm({ name, onDone }: { name: string; onDone: () => void }) {
  const writable = useContext(Writable);
  const today = todayIso();
  const [from, setFrom] = useState(today);
  const [to, setTo] = useState(today);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(
        await api(`/api/deployments/${seg(name)}/backfill`, { method: "POST", body: { from, to, missing } }),
      );
      onDone();
    } catch (err) {
      setError((err as Error).message);
    }
    setBusy(false);
  };
  return (
    <form class="form" data-testid="backfill-form" onSubmit={submit}>
      <div class="row">
        <DateField label="From" name="from" required value={from} onChange={setFrom} />
        <DateField label="To" name="to" required value={to} onChange={setTo} />
        <label>
          <input
            type="checkbox"
            name="missing"
            checked={missing}
            onChange={(e) => setMissing((e.target as HTMLInputElement).checked)}
          />{" "}
          missing only
        </label>
      </div>
      <ErrorText error={error} />
      <div>
        <button type="submit" disabled={!writable || busy}>
          Backfill
        </button>
      </div>
      {result !== null ? <BackfillResult result={result} /> : null}
    </form>
  );
}

interface BackfillAnswer {
  sessions?: number;
  queued?: { id: string; date: string }[];
  pending?: number;
  complete?: number;
}

function BackfillResult({ result }: { result: unknown }) {
  const r = result as BackfillAnswer;
  const queued = Array.isArray(r.queued) ? r.queued : [];
  return (
    <div class="result" data-testid="backfill-result" data-queued={queued.length}>
      <p>
        {r.sessions ?? "?"} session{r.sessions === 1 ? "" : "s"} in range: {queued.length} run
        {queued.length === 1 ? "" : "s"} queued
        {r.pending ? `, ${r.pending} already waiting or running` : ""}
        {r.complete ? `, ${r.complete} already complete` : ""}.
      </p>
      {queued.length > 0 ? (
        <p>
          {queued.slice(0, 40).map((q, i) => (
            <span key={q.id}>
              {i > 0 ? ", " : ""}
              <a href={`/runs/${seg(q.id)}`}>{q.date}</a>
            </span>
          ))}
          {queued.length > 40 ? ", …" : ""}
        </p>
      ) : null}
    </div>
  );
}
