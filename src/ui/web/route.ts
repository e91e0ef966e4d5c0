/**
 * Deep links: the view and every selection live in the URL's hash (`#/experiments?sort=acc&compare=a,b`),
 * so a link or a reload shows the same thing. `useRoute` re-renders on hashchange; `setParams`
 * replaces the hash without adding history entries for every keystroke.
 */
import { useEffect, useState } from 'preact/hooks';

export type View = 'pipeline' | 'experiments' | 'metrics' | 'models';
export const VIEWS: View[] = ['pipeline', 'experiments', 'metrics', 'models'];

export interface Route {
  view: View;
  params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const [p = '', q = ''] = hash.replace(/^#\/?/, '').split('?');
  const view = (VIEWS as string[]).includes(p) ? (p as View) : 'pipeline';
  return { view, params: new URLSearchParams(q) };
}

export function hrefFor(view: View, params?: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return `#/${view}${s ? `?${s}` : ''}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** Changes some params of the current view (undefined or '' removes one). */
export function setParams(changes: Record<string, string | undefined>, push = false): void {
  const r = parseHash(location.hash);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === '') r.params.delete(k);
    else r.params.set(k, v);
  }
  const s = r.params.toString();
  const url = `#/${r.view}${s ? `?${s}` : ''}`;
  if (push) location.hash = url;
  else {
    history.replaceState(null, '', url);
    dispatchEvent(new HashChangeEvent('hashchange'));
  }
}
