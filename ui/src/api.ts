/**
 * Every request of the console goes through `api()`: the bearer token (kept in sessionStorage for
 * this tab), JSON bodies with `Content-Type: application/json`, and `{"error": ...}` answers turned
 * into an `ApiError` whose message is shown as text. A 401 raises the token prompt (again if the
 * token is refused).
 */
import { useEffect, useRef, useState } from "preact/hooks";

const TOKEN_KEY = "tickflow.token";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Listener = () => void;
const listeners = new Set<Listener>();
let tokenWanted = false;
/** Bumped whenever the token changes, so views fetch again. */
let epoch = 0;

export function authState(): { tokenWanted: boolean; epoch: number } {
  return { tokenWanted, epoch };
}

export function onAuthChange(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(): void {
  for (const fn of listeners) fn();
}

export function setToken(token: string): void {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    /* storage may be disabled: the token then lives as long as the page */
  }
  memoryToken = token;
  tokenWanted = false;
  epoch++;
  emit();
}

let memoryToken: string | null = null;
function token(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? memoryToken;
  } catch {
    return memoryToken;
  }
}

export interface ApiOptions {
  method?: "GET" | "POST" | "PUT";
  body?: unknown;
  signal?: AbortSignal;
}

export async function api<T>(path: string, options: ApiOptions = {}): Promise<T> {
  const method = options.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let body: string | undefined;
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body ?? {});
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body, signal: options.signal, credentials: "omit" });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, `cannot reach the tickflow API (${(err as Error).message})`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === "" ? null : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.status === 401) {
    if (!tokenWanted) {
      tokenWanted = true;
      emit();
    }
    throw new ApiError(401, errorText(json) ?? "an API token is needed");
  }
  if (!res.ok) {
    throw new ApiError(res.status, errorText(json) ?? `${res.status} ${res.statusText}`);
  }
  if (json === undefined) throw new ApiError(res.status, `not JSON from ${path}`);
  return json as T;
}

function errorText(json: unknown): string | null {
  if (json && typeof json === "object" && "error" in json) return String((json as { error: unknown }).error);
  return null;
}

export interface Loaded<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/**
 * GETs `path` (null: nothing), again every `pollMs` while `pollMs` is set, keeping the last answer
 * on screen while the next one loads (live views do not flicker). A change of `pollMs` alone (a
 * run that became final stops polling) does not abort a request in flight nor fetch again: it
 * only decides whether the next one is scheduled.
 */
export function useApi<T>(path: string | null, pollMs?: number | null): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const [authEpoch, setAuthEpoch] = useState(epoch);
  const lastPath = useRef<string | null>(null);
  const poll = useRef(pollMs);
  poll.current = pollMs;
  /** Starts the next load now when no load is in flight or scheduled (set by the effect below). */
  const wake = useRef<(() => void) | null>(null);

  useEffect(() => onAuthChange(() => setAuthEpoch(epoch)), []);

  useEffect(() => {
    if (path === null) {
      setLoading(false);
      return;
    }
    if (lastPath.current !== path) {
      setData(undefined);
      lastPath.current = path;
    }
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let busy = false;
    const load = async () => {
      timer = undefined;
      busy = true;
      setLoading(true);
      try {
        const answer = await api<T>(path, { signal: ctl.signal });
        if (ctl.signal.aborted) return;
        setData(answer);
        setError(null);
      } catch (err) {
        if (ctl.signal.aborted) return;
        setError((err as Error).message);
      }
      busy = false;
      setLoading(false);
      if (poll.current) timer = setTimeout(pollAgain, poll.current);
    };
    // A hidden tab does not poll: the next load waits until the tab is seen again.
    const pollAgain = () => {
      timer = undefined;
      if (!document.hidden) void load();
    };
    const onVisible = () => {
      if (!document.hidden && poll.current) wake.current?.();
    };
    document.addEventListener("visibilitychange", onVisible);
    wake.current = () => {
      if (!busy && timer === undefined && !ctl.signal.aborted) void load();
    };
    void load();
    return () => {
      ctl.abort();
      document.removeEventListener("visibilitychange", onVisible);
      wake.current = null;
      if (timer) clearTimeout(timer);
    };
  }, [path, tick, authEpoch]);

  // Polling switched on again (or faster): the next load starts now if none is due.
  useEffect(() => {
    if (pollMs) wake.current?.();
  }, [pollMs]);

  return { data, error, loading, reload: () => setTick((t) => t + 1) };
}
