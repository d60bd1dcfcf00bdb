import type { ComponentChildren } from "preact";
import { createContext } from "preact";
import { useContext, useState } from "preact/hooks";
import type { RunJson } from "../../src/api/console-contract";
import { api } from "./api";
import { localTime, relative, shortId, span, utcTitle } from "./format";
import { seg } from "./router";

/** False under `tickflow ui` (read-only): state-changing buttons are disabled with a note. */
export const Writable = createContext(true);

export function Time({ iso, rel }: { iso: string | null | undefined; rel?: boolean }) {
  if (!iso) return <span class="muted">–</span>;
  return (
    <time dateTime={iso} title={utcTitle(iso)}>
      {localTime(iso)}
      {rel ? <span class="muted"> ({relative(iso)})</span> : null}
    </time>
  );
}

export function StateBadge({ state, testid }: { state: string; testid?: string }) {
  return (
    <span class={`state st-${state.toLowerCase()}`} data-testid={testid ?? "state-badge"} data-state={state}>
      {state}
    </span>
  );
}

export function ErrorText({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return (
    <div class="error-box" role="alert" data-testid="api-error">
      {error}
    </div>
  );
}

export function Loading({ what }: { what?: string }) {
  return <p class="muted">Loading{what ? ` ${what}` : ""}…</p>;
}

export function Section({
  title,
  children,
  right,
}: {
  title: string;
  children: ComponentChildren;
  right?: ComponentChildren;
}) {
  return (
    <section class="panel">
      <header class="panel-head">
        <h2>{title}</h2>
        {right ? <div class="panel-tools">{right}</div> : null}
      </header>
      {children}
    </section>
  );
}

export function ReadOnlyNote() {
  const writable = useContext(Writable);
  if (writable) return null;
  return (
    <p class="note" data-testid="read-only-note">
      Read-only console (<code>tickflow ui</code>): actions are disabled.
    </p>
  );
}

/**
 * A button that POSTs to the API; the answer goes to `onDone`, an error is shown beside it as text.
 * Disabled under the read-only console.
 */
export function ActionButton<T>({
  label,
  path,
  body,
  onDone,
  confirm: confirmText,
  kind,
}: {
  label: string;
  path: string;
  body?: unknown;
  onDone?: (answer: T) => void;
  confirm?: string;
  kind?: "danger" | "primary";
}) {
  const writable = useContext(Writable);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const click = async () => {
    if (confirmText && !window.confirm(confirmText)) return;
    setBusy(true);
    setError(null);
    try {
      const answer = await api<T>(path, { method: "POST", body: body ?? {} });
      onDone?.(answer);
    } catch (err) {
      setError((err as Error).message);
    }
    setBusy(false);
  };
  return (
    <span class="action">
      <button
        type="button"
        class={kind ?? ""}
        disabled={!writable || busy}
        title={writable ? undefined : "read-only console"}
        onClick={click}
      >
        {label}
      </button>
      {error ? (
        <span class="error-inline" role="alert" data-testid="action-error">
          {error}
        </span>
      ) : null}
    </span>
  );
}

export function RunLink({ run }: { run: Pick<RunJson, "id"> }) {
  return (
    <a href={`/runs/${seg(run.id)}`} class="mono" title={run.id}>
      {shortId(run.id)}
    </a>
  );
}

export function RunsTable({
  runs,
  empty,
  upcoming,
}: {
  runs: RunJson[];
  empty?: string;
  upcoming?: boolean;
}) {
  if (runs.length === 0) return <p class="muted">{empty ?? "No runs."}</p>;
  return (
    <table class="grid" data-testid="runs-table">
      <thead>
        <tr>
          <th>Run</th>
          <th>State</th>
          <th>Deployment</th>
          <th>Pipeline</th>
          <th>Logical date</th>
          <th>{upcoming ? "Scheduled" : "Started / due"}</th>
          <th>Duration</th>
          <th>Error</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id} data-testid="run-row" data-run-id={run.id} data-state={run.state}>
            <td>
              <RunLink run={run} />
            </td>
            <td>
              <StateBadge state={run.state} />
            </td>
            <td>
              {run.deployment ? (
                <a href={`/deployments/${seg(run.deployment)}`}>{run.deployment}</a>
              ) : (
                <span class="muted">–</span>
              )}
            </td>
            <td>{run.pipeline}</td>
            <td>{run.logical_date ?? <span class="muted">–</span>}</td>
            <td>
              <Time iso={run.started_at ?? run.scheduled_at ?? run.created_at} rel={upcoming} />
            </td>
            <td class="num">{span(run.started_at, run.ended_at)}</td>
            <td class="clip" title={run.error ?? undefined}>
              {run.error ?? ""}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A labelled date input (YYYY-MM-DD). */
export function DateField(props: {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  required?: boolean;
}) {
  return (
    <label>
      {props.label}{" "}
      <input
        type="date"
        name={props.name}
        required={props.required}
        value={props.value}
        onInput={(e) => props.onChange((e.target as HTMLInputElement).value)}
      />
    </label>
  );
}
