import { useMemo, useState, type ReactElement } from 'react';
import { clients, codeOf, Code, explain, type ApiClients } from './api';
import { loadSession, navigate, saveSession, setUnsavedWork, useRoute, type Session } from './session';
import { SignIn } from './pages/SignIn';
import { ActionsList } from './pages/ActionsList';
import { NewAction } from './pages/NewAction';
import { ActionEditor } from './pages/ActionEditor';
import { TenantsPage } from './pages/TenantsPage';
import { FlowsPage } from './pages/FlowsPage';
import { RunDetail, RunsPage } from './pages/RunsPage';
import { AuditPage } from './pages/AuditPage';
import { DashboardPage } from './pages/DashboardPage';

/** Decides whether a token is the operator's or a tenant's by what it may call. */
async function identify(token: string): Promise<Session> {
  const api = clients(token, () => {});
  try {
    await api.tenants.listTenants({ pageSize: 1 });
    return { token, kind: 'operator' };
  } catch (error) {
    if (codeOf(error) !== Code.PermissionDenied && codeOf(error) !== Code.Unauthenticated) throw error;
  }
  await api.actions.listActions({ pageSize: 1 });
  return { token, kind: 'tenant' };
}

export function App() {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  const [expired, setExpired] = useState(false);
  const route = useRoute();
  const api: ApiClients | undefined = useMemo(
    () => (session ? clients(session.token, () => setExpired(true)) : undefined),
    [session],
  );

  const signIn = async (token: string) => {
    try {
      const next = await identify(token.trim());
      saveSession(next);
      setSession(next);
      setExpired(false);
      return undefined;
    } catch (error) {
      return codeOf(error) === Code.Unauthenticated || codeOf(error) === Code.PermissionDenied
        ? 'That token was not accepted: it is unknown, revoked, or mistyped.'
        : explain(error);
    }
  };

  const signOut = () => {
    setUnsavedWork(undefined);
    saveSession(undefined);
    setSession(undefined);
    window.location.hash = '/';
  };

  if (!session || !api) {
    return <SignIn onSignIn={signIn} />;
  }

  let page: ReactElement;
  const [path, query] = route.split('?');
  const parts = path.split('/').filter(Boolean);
  if (session.kind === 'operator') {
    page = <TenantsPage api={api} />;
  } else if (parts[0] === 'runs' && parts[1]) {
    page = <RunDetail key={path} api={api} runId={decodeURIComponent(parts[1])} />;
  } else if (parts[0] === 'runs') {
    page = <RunsPage key={route} api={api} query={query} />;
  } else if (parts[0] === 'audit') {
    page = <AuditPage key={path} api={api} query={query} />;
  } else if (parts[0] === 'dashboard') {
    page = <DashboardPage api={api} />;
  } else if (parts[0] === 'flows') {
    page = <FlowsPage key={path} api={api} flow={parts[1]} />;
  } else if (parts[0] === 'actions' && parts[1] === 'new' && parts[2]) {
    page = <ActionEditor key={path} api={api} starter={parts[2]} />;
  } else if (parts[0] === 'actions' && parts[1] === 'new') {
    page = <NewAction />;
  } else if (parts[0] === 'actions' && parts[1]) {
    page = (
      <ActionEditor
        key={path}
        api={api}
        slug={decodeURIComponent(parts[1])}
        fromPackage={query === 'package'}
        version={new URLSearchParams(query ?? '').get('version') ?? undefined}
      />
    );
  } else {
    page = <ActionsList api={api} />;
  }

  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Actions</span>
        <nav aria-label="Main">
          {session.kind === 'tenant' ? (
            <ul className="menu">
              <li>
                <span className="menu-group">Authentication</span>
                <ul>
                  <li>
                    <a
                      href="#/actions"
                      aria-current={parts[0] === 'actions' ? 'page' : undefined}
                      onClick={(e) => {
                        e.preventDefault();
                        navigate('/actions');
                      }}
                    >
                      Actions
                    </a>
                  </li>
                  <li>
                    <a
                      href="#/flows"
                      aria-current={parts[0] === 'flows' ? 'page' : undefined}
                      onClick={(e) => {
                        e.preventDefault();
                        navigate('/flows');
                      }}
                    >
                      Flows
                    </a>
                  </li>
                </ul>
              </li>
              <li>
                <span className="menu-group">Monitoring</span>
                <ul>
                  {(
                    [
                      ['runs', 'Runs'],
                      ['audit', 'Audit'],
                      ['dashboard', 'Dashboard'],
                    ] as const
                  ).map(([to, name]) => (
                    <li key={to}>
                      <a
                        href={`#/${to}`}
                        aria-current={parts[0] === to ? 'page' : undefined}
                        onClick={(e) => {
                          e.preventDefault();
                          navigate(`/${to}`);
                        }}
                      >
                        {name}
                      </a>
                    </li>
                  ))}
                </ul>
              </li>
            </ul>
          ) : (
            <ul className="menu">
              <li>
                <a href="#/tenants" aria-current="page">
                  Tenants
                </a>
              </li>
            </ul>
          )}
        </nav>
        <span className="who">{session.kind === 'operator' ? 'Operator' : 'Tenant admin'}</span>
        <button type="button" className="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      {expired && (
        <div className="modal-backdrop">
          <div role="dialog" aria-modal="true" aria-labelledby="expired-title" className="modal">
            <h2 id="expired-title">Sign in again</h2>
            <p>Your session has ended (the token expired or was revoked). Your work on this page is kept.</p>
            <SignIn onSignIn={signIn} embedded />
          </div>
        </div>
      )}
      <main>{page}</main>
    </div>
  );
}
