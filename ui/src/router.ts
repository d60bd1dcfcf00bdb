/**
 * Client-side routing over the History API. Links are plain `<a href>`s: one document-level click
 * handler turns a same-origin left click into `pushState`, so copy-link, middle-click and
 * open-in-new-tab keep working and every view has a URL that can be pasted.
 */
import { useEffect, useState } from "preact/hooks";

type Listener = () => void;
const listeners = new Set<Listener>();

export function navigate(url: string, options: { replace?: boolean } = {}): void {
  const target = new URL(url, location.href);
  const changedPath = target.pathname !== location.pathname;
  if (options.replace) history.replaceState(null, "", target);
  else history.pushState(null, "", target);
  if (changedPath) window.scrollTo(0, 0);
  for (const fn of listeners) fn();
}

export function installLinkHandler(): void {
  window.addEventListener("popstate", () => {
    for (const fn of listeners) fn();
  });
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest?.("a");
    if (!anchor || anchor.target || anchor.hasAttribute("download")) return;
    const href = anchor.getAttribute("href");
    if (!href || href.startsWith("#")) return;
    const url = new URL(anchor.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api/") || url.pathname === "/metrics")
      return;
    event.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
}

export interface Location {
  path: string;
  query: URLSearchParams;
}

export function useLocation(): Location {
  const [, setTick] = useState(0);
  useEffect(() => {
    const fn = () => setTick((t) => t + 1);
    listeners.add(fn);
    return () => {
      listeners.delete(fn);
    };
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

/** Replaces query parameters of the current URL (empty values are dropped) without a new history entry. */
export function setQuery(
  values: Record<string, string | null | undefined>,
  options: { push?: boolean } = {},
): void {
  const params = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(values)) {
    if (value === null || value === undefined || value === "") params.delete(key);
    else params.set(key, value);
  }
  const search = params.toString();
  navigate(location.pathname + (search ? `?${search}` : ""), { replace: !options.push });
}

/** Path segment encoding for links built from data (symbols, names). */
export const seg = (s: string): string => encodeURIComponent(s);
