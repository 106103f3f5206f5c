// Who is signed in, kept for this browser tab only (sessionStorage): closing
// the tab signs out, and the token is never written anywhere else.
import { useCallback, useEffect, useState } from 'react';

export type Session = {
  token: string;
  kind: 'tenant' | 'operator';
};

const KEY = 'actions.session';

export function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session | undefined) {
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
}

// ---- routing: the location hash, with a guard for unsaved work ----

let unsavedWork: string | undefined;

/** While set, leaving the page asks first (`what` says what would be lost). */
export function setUnsavedWork(what: string | undefined) {
  unsavedWork = what;
}

window.addEventListener('beforeunload', (event) => {
  if (unsavedWork) event.preventDefault();
});

function mayLeave(): boolean {
  if (!unsavedWork) return true;
  if (!window.confirm(`${unsavedWork} Leave this page and lose them?`)) return false;
  unsavedWork = undefined;
  return true;
}

export function navigate(path: string) {
  if (`#${path}` === window.location.hash) return;
  if (!mayLeave()) return;
  window.location.hash = path;
}

/** The current route, e.g. "/actions/custom-claim". */
export function useRoute(): string {
  const read = () => window.location.hash.replace(/^#/, '') || '/';
  const [route, setRoute] = useState(read);
  const [confirmed, setConfirmed] = useState(route);
  const onChange = useCallback(() => {
    const next = read();
    if (next === confirmed) return;
    // The back button or a typed address: ask before dropping edits.
    if (!mayLeave()) {
      history.replaceState(null, '', `#${confirmed}`);
      return;
    }
    setConfirmed(next);
    setRoute(next);
  }, [confirmed]);
  useEffect(() => {
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, [onChange]);
  return route;
}
