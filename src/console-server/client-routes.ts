/**
 * The console's client-side routes (SPEC section 10): the paths that answer the app shell, whose
 * script then shows the view. Any query string is the view's own (filters, dates).
 */

/** One pattern per view; a segment is any text but `/` (a deployment's name, a symbol). */
const ROUTES: readonly RegExp[] = [
  /^\/$/,
  /^\/runs\/?$/,
  /^\/runs\/[^/]+\/?$/,
  /^\/deployments\/?$/,
  /^\/deployments\/[^/]+\/?$/,
  /^\/pools\/?$/,
  /^\/data\/?$/,
  /^\/data\/[^/]+\/[^/]+\/?$/,
  /^\/coverage\/?$/,
];

/** Whether the shell answers `path` (without its query string). */
export function isClientRoute(path: string): boolean {
  return ROUTES.some((route) => route.test(path));
}
