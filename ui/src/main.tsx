import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { HealthJson } from "../../src/api/console-contract";
import { authState, onAuthChange, setToken, useApi } from "./api";
import { Writable } from "./components";
import { installLinkHandler, useLocation } from "./router";
import "./style.css";
import { CoverageView } from "./views/coverage";
import { DataSearchView, SymbolView } from "./views/data";
import { DeploymentsView, DeploymentView } from "./views/deployments";
import { OverviewView } from "./views/overview";
import { PoolsView } from "./views/pools";
import { RunView } from "./views/run";
import { RunsView } from "./views/runs";

const NAV: [string, string][] = [
  ["/", "Overview"],
  ["/runs", "Runs"],
  ["/deployments", "Deployments"],
  ["/pools", "Pools"],
  ["/data", "Data"],
  ["/coverage", "Coverage"],
];

function TokenPrompt() {
  const [value, setValue] = useState("");
  return (
    <div class="token-backdrop">
      <form
        class="token-form panel"
        data-testid="token-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) setToken(value.trim());
        }}
      >
        <h2>API token</h2>
        <p class="muted">
          This daemon wants a bearer token (TICKFLOW_API_TOKEN). It is kept for this tab only.
        </p>
        <label class="token-label">
          API token
          <input
            type="password"
            name="token"
            autoComplete="off"
            value={value}
            onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit">Save token</button>
      </form>
    </div>
  );
}

function route(path: string) {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const [first, second, third] = parts;
  if (parts.length === 0) return <OverviewView />;
  if (first === "runs" && parts.length === 1) return <RunsView />;
  if (first === "runs" && parts.length === 2) return <RunView id={second!} />;
  if (first === "deployments" && parts.length === 1) return <DeploymentsView />;
  if (first === "deployments" && parts.length === 2) return <DeploymentView name={second!} />;
  if (first === "pools" && parts.length === 1) return <PoolsView />;
  if (first === "data" && parts.length === 1) return <DataSearchView />;
  if (first === "data" && parts.length === 3) return <SymbolView source={second!} symbol={third!} />;
  if (first === "coverage" && parts.length === 1) return <CoverageView />;
  return (
    <div class="panel">
      <h1>Not found</h1>
      <p>
        No view at <code>{path}</code>. <a href="/">Overview</a>
      </p>
    </div>
  );
}

function App() {
  const loc = useLocation();
  const [auth, setAuth] = useState(authState());
  useEffect(() => onAuthChange(() => setAuth(authState())), []);
  const health = useApi<HealthJson>("/api/health", 30_000);
  const readOnly = health.data?.status === "read-only";
  const section = `/${loc.path.split("/")[1] ?? ""}`;
  return (
    <Writable.Provider value={!readOnly}>
      <nav class="top">
        <a href="/" class="brand">
          tickflow
        </a>
        {NAV.map(([href, label]) => (
          <a
            key={href}
            href={href}
            class={section === href ? "active" : ""}
            aria-current={section === href ? "page" : undefined}
          >
            {label}
          </a>
        ))}
        <span class="spacer" />
        <span class="health" data-testid="health" title={health.error ?? undefined}>
          {auth.tokenWanted
            ? "token needed"
            : health.error
              ? "API unreachable"
              : (health.data?.status ?? "…")}
        </span>
      </nav>
      <main key={auth.epoch}>{route(loc.path)}</main>
      {auth.tokenWanted ? <TokenPrompt /> : null}
    </Writable.Provider>
  );
}

installLinkHandler();
render(<App />, document.getElementById("app")!);
