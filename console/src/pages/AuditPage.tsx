import { useCallback, useEffect, useState } from 'react';
import { explain, type ApiClients } from '../api';
import type { AuditEvent } from '../gen/actions/controlplane/v1/management_pb';
import { lineDiff, prettyJson } from '../lineDiff';
import { when } from './RunsPage';

/** The kinds of audit event the control plane records (see AuditEvent in management.proto). */
const KINDS = [
  'action.created',
  'action.version_saved',
  'flow.action_published',
  'flow.binding_added',
  'flow.binding_moved',
  'flow.binding_changed',
  'flow.binding_removed',
  'action.deleted',
  'secret.set',
  'secret.removed',
];

/** The before and after an event's details carry, by what changed. */
const CHANGES: [string, string, string][] = [
  ['Config', 'config_before', 'config'],
  ['Config schema', 'config_schema_before', 'config_schema'],
];

function Details({ event }: { event: AuditEvent }) {
  let details: Record<string, unknown> = {};
  try {
    details = JSON.parse(event.detailsJson || '{}');
  } catch {
    return <pre>{event.detailsJson}</pre>;
  }
  const diffs = CHANGES.filter(([, before, after]) => before in details && after in details);
  const rest = Object.fromEntries(
    Object.entries(details).filter(([k]) => !diffs.some(([, before, after]) => k === before || k === after)),
  );
  return (
    <>
      {Object.keys(rest).length > 0 && <pre className="details">{prettyJson(rest)}</pre>}
      {diffs.map(([label, before, after]) => (
        <div key={label} className="audit-diff" role="group" aria-label={`${label} change`}>
          <h4>{label} change</h4>
          <pre>
            {lineDiff(prettyJson(details[before]), prettyJson(details[after])).map((line, i) => (
              <div key={i} className={`diff-line ${line.kind}`}>
                {line.kind === 'added' ? '+ ' : line.kind === 'removed' ? '- ' : '  '}
                {line.text}
              </div>
            ))}
          </pre>
        </div>
      ))}
    </>
  );
}

/** Audit: every change with who made it, when, and what changed; filtered by kind and Action; live. */
export function AuditPage({ api, query }: { api: ApiClients; query?: string }) {
  const params = new URLSearchParams(query ?? '');
  const [kind, setKind] = useState(params.get('kind') ?? '');
  const [action, setAction] = useState(params.get('action') ?? '');
  const [slugs, setSlugs] = useState<string[]>([]);
  const [events, setEvents] = useState<AuditEvent[]>();
  const [pages, setPages] = useState<string[]>(['']);
  const [next, setNext] = useState('');
  const [live, setLive] = useState(false);
  const [problem, setProblem] = useState<string>();

  useEffect(() => {
    void api.actions.listActions({ pageSize: 100 }).then(
      (a) => setSlugs(a.actions.map((x) => x.slug)),
      (e) => setProblem(explain(e)),
    );
  }, [api]);

  const load = useCallback(
    async (pageToken: string) => {
      setProblem(undefined);
      try {
        const answer = await api.audit.listAuditEvents({ kind, actionSlug: action, pageSize: 50, pageToken });
        setEvents(answer.events);
        setNext(answer.nextPageToken);
      } catch (error) {
        setProblem(explain(error));
      }
    },
    [api, kind, action],
  );
  useEffect(() => {
    setPages(['']);
    void load('');
    const q = new URLSearchParams(Object.entries({ kind, action }).filter(([, v]) => v)).toString();
    history.replaceState(null, '', `#/audit${q ? `?${q}` : ''}`);
  }, [load, kind, action]);

  useEffect(() => {
    if (!live) return;
    const stop = new AbortController();
    void (async () => {
      try {
        for await (const tailed of api.audit.tail({ audit: true }, { signal: stop.signal })) {
          if (tailed.event.case !== 'audit') continue;
          const event = tailed.event.value;
          if (kind && event.kind !== kind) continue;
          // The server decides what is about an Action; a live event of another is re-read from it.
          if (action) {
            void load('');
            continue;
          }
          setEvents((shown) => [event, ...(shown ?? [])].slice(0, 200));
        }
      } catch (error) {
        if (!stop.signal.aborted) setProblem(`Live mode stopped: ${explain(error)}`);
      }
    })();
    return () => stop.abort();
  }, [api, live, kind, action, load]);

  return (
    <section aria-labelledby="audit-title">
      <div className="page-head">
        <h1 id="audit-title">Audit</h1>
        <label className="check live-toggle">
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} />
          Live
        </label>
      </div>
      <form className="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">any</option>
            {[...new Set([...KINDS, kind].filter(Boolean))].map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          Action
          <select value={action} onChange={(e) => setAction(e.target.value)}>
            <option value="">any</option>
            {[...new Set([...slugs, action].filter(Boolean))].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </form>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      {events && events.length === 0 && <p className="muted">No events match.</p>}
      {events && events.length > 0 && (
        <ol className="audit-events" aria-label="Audit events, newest first">
          {events.map((event) => (
            <li key={String(event.seq)} aria-label={`${event.kind} ${event.subject}`}>
              <div className="binding-head">
                <strong>{event.kind}</strong>
                <code>{event.subject}</code>
                <span className="muted">
                  by {event.actor} · {when(event.atMs)}
                </span>
              </div>
              <Details event={event} />
            </li>
          ))}
        </ol>
      )}
      {!live && (
        <div className="row-buttons pager">
          <button
            type="button"
            className="secondary"
            disabled={pages.length < 2}
            onClick={() => {
              const back = pages.slice(0, -1);
              setPages(back);
              void load(back[back.length - 1]);
            }}
          >
            Newer
          </button>
          <button
            type="button"
            className="secondary"
            disabled={!next}
            onClick={() => {
              setPages([...pages, next]);
              void load(next);
            }}
          >
            Older
          </button>
        </div>
      )}
    </section>
  );
}
