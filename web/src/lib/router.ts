import { useSyncExternalStore } from 'react';

/*
 * The app's few routes need no router library: the path is history's,
 * navigate() pushes, and every view re-renders on popstate.
 */

const listeners = new Set<() => void>();
const notify = () => {
  for (const l of listeners) l();
};
window.addEventListener('popstate', notify);

export function navigate(to: string): void {
  if (to === location.pathname + location.search) return;
  history.pushState(null, '', to);
  window.scrollTo(0, 0);
  notify();
}

export function usePath(): string {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => location.pathname,
  );
}

export type Route =
  | { view: 'catalog' }
  | { view: 'local' }
  | { view: 'jobs' }
  | { view: 'labs' }
  | { view: 'newLab' }
  | { view: 'lab'; lab: string }
  | { view: 'notFound' };

export function matchRoute(path: string): Route {
  const p = path.replace(/\/+$/, '') || '/';
  if (p === '/' || p === '/images') return { view: 'catalog' };
  if (p === '/images/local') return { view: 'local' };
  if (p === '/jobs') return { view: 'jobs' };
  if (p === '/labs') return { view: 'labs' };
  if (p === '/labs/new') return { view: 'newLab' };
  const m = /^\/labs\/([^/]+)$/.exec(p);
  if (m) return { view: 'lab', lab: decodeURIComponent(m[1]!) };
  return { view: 'notFound' };
}
