/**
 * What the console's pages read (SPEC section 10), answered in the JSON of
 * `src/api/console-contract.ts`: one interface, so the daemon (over its control connection) and
 * `tickflow ui` (over a read-only one) serve the same routes. `LocalConsoleViews` (`local-views.ts`)
 * answers it from the database. Methods throw `ControlError` (400 bad input, 404 unknown names).
 */
import type {
  BarsJson,
  CoverageJson,
  DeploymentDetailJson,
  OverviewJson,
  RunGraphJson,
  RunNotificationJson,
  RunsPageJson,
  SymbolEventsJson,
  SymbolJson,
  WorkPoolJson,
} from "../api/console-contract.js";
import type { RunFilter } from "./control-plane.js";

/** Most runs a page holds. */
export const MAX_PAGE_RUNS = 1000;
/** Runs a deployment's page lists. */
export const RECENT_RUNS = 20;
/** Runs `queuedRuns` lists per pool. */
export const MAX_QUEUED_RUNS = 50;
/** Fires listed per schedule. */
export const SCHEDULE_FIRES = 5;
/** Symbols a search answers by default, and at most. */
export const DEFAULT_SYMBOLS = 50;
export const MAX_SYMBOLS = 200;
/** Quality findings of one symbol, at most. */
export const MAX_SYMBOL_FINDINGS = 1000;
/** Coverage: days (weekdays) by default and at most, symbols by default and at most. */
export const DEFAULT_COVERAGE_DAYS = 252;
export const MAX_COVERAGE_DAYS = 400;
export const DEFAULT_COVERAGE_SYMBOLS = 500;
export const MAX_COVERAGE_SYMBOLS = 1000;

export interface RunsPageFilter extends RunFilter {
  /** The `next` of the previous page. */
  before?: string;
}

export interface ConsoleViews {
  /** A page of `listRuns`' runs (default 50), and the cursor of the next. 400 for a cursor not of this list. */
  runsPage(filter: RunsPageFilter): Promise<RunsPageJson>;
  /** The task graph of a pipeline file as it is now (a run's `pipeline_file`; null: none recorded). */
  pipelineGraph(pipelineFile: string | null): Promise<RunGraphJson>;
  /** The messages about a run (its id, resolved), oldest first. */
  runNotifications(runId: string): Promise<RunNotificationJson[]>;
  /** 404 when no deployment has this name. */
  deployment(name: string): Promise<DeploymentDetailJson>;
  /** The pool with its due, waiting runs in claim order (at most 50). 404 for an unknown pool. */
  workPoolQueue(name: string): Promise<WorkPoolJson>;
  /** The overview (`writable` is the server's to say). */
  overview(): Promise<Omit<OverviewJson, "writable">>;
  symbols(options: { q: string; source?: string; limit: number }): Promise<SymbolJson[]>;
  /** 400 naming unknown indicators; 404 when the symbol has no bars. */
  bars(
    source: string,
    symbol: string,
    options: { from?: string; to?: string; indicators: string[] },
  ): Promise<BarsJson>;
  /** 404 when the symbol has no bars. */
  symbolEvents(source: string, symbol: string): Promise<SymbolEventsJson>;
  /** Defaults: the first source with bars, the 252 weekdays up to today in New York. 404 for an unknown source. */
  coverage(options: {
    source?: string;
    from?: string;
    to?: string;
    offset: number;
    limit: number;
  }): Promise<CoverageJson>;
}
