import { useCallback, useEffect, useState } from 'react';
import { explain, type ApiClients } from '../api';
import type { Flow } from '../gen/actions/controlplane/v1/management_pb';
import type { RunRecord } from '../gen/actions/controlplane/v1/runners_pb';
import { Decision, Outcome } from '../gen/actions/runner/v1/execution_pb';
import { DECISIONS, OUTCOMES, RunResult } from '../components/RunResult';
import { ReplayRun } from '../components/ReplayRun';
import { navigate } from '../session';

/** The filters of the Runs page, as the address keeps them (so a link can carry them). */
type Filters = { flow: string; trigger: string; action: string; decision: string; outcome: string; since: string; until: string };

const NO_FILTERS: Filters = { flow: '', trigger: '', action: '', decision: '', outcome: '', since: '', until: '' };

function filtersOf(query: string | undefined): Filters {
  const params = new URLSearchParams(query ?? '');
  return Object.fromEntries(Object.keys(NO_FILTERS).map((k) => [k, params.get(k) ?? ''])) as Filters;
}

const toQuery = (f: Filters) =>
  new URLSearchParams(Object.entries(f).filter(([, v]) => v) as [string, string][]).toString();

/** A datetime-local value as milliseconds (0: none). */
const msOf = (local: string) => (local ? BigInt(new Date(local).getTime()) : 0n);

export const when = (ms: bigint) => new Date(Number(ms)).toLocaleString();
export const millis = (us: bigint) => `${(Number(us) / 1000).toFixed(2)} ms`;

const flowOf = (trigger: string) => trigger.split('.')[0];

/** Whether a run the tail brought in passes the filters, as the server would have judged it. */
function matches(run: RunRecord, f: Filters): boolean {
  const r = run.response;
  if (run.test || !r) return false;
  if (f.flow && flowOf(run.trigger) !== f.flow) return false;
  if (f.trigger && run.trigger !== f.trigger) return false;
  if (f.action && !r.bindings.some((b) => b.actionSlug === f.action)) return false;
  if (f.decision && String(r.decision) !== f.decision) return false;
  if (f.outcome && !r.bindings.some((b) => String(b.outcome) === f.outcome)) return false;
  if (f.since && run.startedAtMs < msOf(f.since)) return false;
  if (f.until && run.startedAtMs >= msOf(f.until)) return false;
  return true;
}

/** Runs: the tenant's flow runs, filtered, a page at a time, or live from the Tail stream. */
export function RunsPage({ api, query }: { api: ApiClients; query?: string }) {
  const [filters, setFilters] = useState<Filters>(() => filtersOf(query));
  const [draft, setDraft] = useState<Filters>(filters);
  const [flows, setFlows] = useState<Flow[]>([]);
  const [slugs, setSlugs] = useState<string[]>([]);
  const [runs, setRuns] = useState<RunRecord[]>();
  const [pages, setPages] = useState<string[]>(['']);
  const [next, setNext] = useState('');
  const [live, setLive] = useState(false);
  const [problem, setProblem] = useState<string>();

  useEffect(() => {
    void Promise.all([api.flows.listFlows({}), api.actions.listActions({ pageSize: 100 })]).then(
      ([f, a]) => {
        setFlows(f.flows);
        setSlugs(a.actions.map((x) => x.slug));
      },
      (e) => setProblem(explain(e)),
    );
  }, [api]);

  const load = useCallback(
    async (pageToken: string) => {
      setProblem(undefined);
      try {
        const answer = await api.audit.listRuns({
          flow: filters.flow,
          trigger: filters.trigger,
          actionSlug: filters.action,
          decision: Number(filters.decision || 0),
          outcome: Number(filters.outcome || 0),
          sinceMs: msOf(filters.since),
          untilMs: msOf(filters.until),
          pageSize: 20,
          pageToken,
        });
        setRuns(answer.runs);
        setNext(answer.nextPageToken);
      } catch (error) {
        setProblem(explain(error));
      }
    },
    [api, filters],
  );
  useEffect(() => {
    setPages(['']);
    void load('');
  }, [load]);

  useEffect(() => {
    if (!live) return;
    const stop = new AbortController();
    void (async () => {
      try {
        for await (const event of api.audit.tail({ runs: true }, { signal: stop.signal })) {
          const run = event.event.case === 'run' ? event.event.value : undefined;
          if (run && matches(run, filters)) setRuns((shown) => [run, ...(shown ?? [])].slice(0, 200));
        }
      } catch (error) {
        if (!stop.signal.aborted) setProblem(`Live mode stopped: ${explain(error)}`);
      }
    })();
    return () => stop.abort();
  }, [api, live, filters]);

  const apply = () => {
    // A new object even when nothing changed: Apply also reloads.
    setFilters({ ...draft });
    const q = toQuery(draft);
    history.replaceState(null, '', `#/runs${q ? `?${q}` : ''}`);
  };
  const set = (key: keyof Filters) => (e: { target: { value: string } }) => setDraft({ ...draft, [key]: e.target.value });
  const triggers = flows.flatMap((f) => f.slots.map((s) => s.trigger)).filter((t) => !draft.flow || flowOf(t) === draft.flow);

  return (
    <section aria-labelledby="runs-title">
      <div className="page-head">
        <h1 id="runs-title">Runs</h1>
        <label className="check live-toggle">
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} />
          Live
        </label>
      </div>
      <form className="filters" aria-label="Filters" onSubmit={(e) => (e.preventDefault(), apply())}>
        <label>
          Flow
          <select value={draft.flow} onChange={set('flow')}>
            <option value="">any</option>
            {flows.map((f) => (
              <option key={f.name}>{f.name}</option>
            ))}
          </select>
        </label>
        <label>
          Trigger
          <select value={draft.trigger} onChange={set('trigger')}>
            <option value="">any</option>
            {triggers.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Action
          <select value={draft.action} onChange={set('action')}>
            <option value="">any</option>
            {[...new Set([...slugs, draft.action].filter(Boolean))].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Decision
          <select value={draft.decision} onChange={set('decision')}>
            <option value="">any</option>
            <option value={Decision.ALLOW}>allow</option>
            <option value={Decision.DENY}>deny</option>
          </select>
        </label>
        <label>
          Outcome
          <select value={draft.outcome} onChange={set('outcome')}>
            <option value="">any</option>
            {Object.entries(OUTCOMES).map(([value, name]) => (
              <option key={value} value={value}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" value={draft.since} onChange={set('since')} />
        </label>
        <label>
          To
          <input type="datetime-local" value={draft.until} onChange={set('until')} />
        </label>
        <button type="submit">Apply filters</button>
      </form>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      {runs && runs.length === 0 && <p className="muted">No runs match.</p>}
      {runs && runs.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Flow runs, newest first">
            <thead>
              <tr>
                <th>Started</th>
                <th>Trigger</th>
                <th>Decision</th>
                <th>Actions, in order</th>
                <th>Time</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => {
                const r = run.response!;
                return (
                  <tr key={r.runId}>
                    <td>{when(run.startedAtMs)}</td>
                    <td>
                      <code>{run.trigger}</code>
                    </td>
                    <td className={`decision ${DECISIONS[r.decision] ?? ''}`}>{DECISIONS[r.decision] ?? 'none'}</td>
                    <td>
                      {r.bindings.map((b) => `${b.actionSlug}@${b.actionVersion} ${OUTCOMES[b.outcome] ?? ''}`).join(' → ') || '—'}
                    </td>
                    <td>{millis(r.durationUs)}</td>
                    <td>
                      <a href={`#/runs/${encodeURIComponent(r.runId)}`}>Details</a>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
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

/**
 * A flow run: each binding's Action and the version that ran, outcome, deny
 * reason, claims, console output, fuel and time; Replay runs it again from
 * its record and says whether it answers the same.
 */
export function RunDetail({ api, runId }: { api: ApiClients; runId: string }) {
  const [run, setRun] = useState<RunRecord>();
  const [problem, setProblem] = useState<string>();
  useEffect(() => {
    void api.audit.getRun({ runId }).then(setRun, (e) => setProblem(explain(e)));
  }, [api, runId]);
  const r = run?.response;
  return (
    <section aria-labelledby="run-title">
      <div className="page-head">
        <h1 id="run-title">Flow run</h1>
        <a
          href="#/runs"
          onClick={(e) => {
            e.preventDefault();
            navigate('/runs');
          }}
        >
          All runs
        </a>
      </div>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      {run && r && (
        <>
          <dl className="summary run-facts">
            <div>
              <dt>Run</dt>
              <dd>
                <code>{r.runId}</code>
              </dd>
            </div>
            <div>
              <dt>Flow</dt>
              <dd>{flowOf(run.trigger)}</dd>
            </div>
            <div>
              <dt>Trigger</dt>
              <dd>
                <code>{run.trigger}</code>
              </dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>{when(run.startedAtMs)}</dd>
            </div>
            {run.test && (
              <div>
                <dt>Kind</dt>
                <dd>test run</dd>
              </div>
            )}
          </dl>
          <ReplayRun api={api} runId={r.runId || runId} omitted={run.replayOmitted} />
          <div className="table-wrap run-table">
            <table aria-label="Bindings, in the order they ran">
              <thead>
                <tr>
                  <th>#</th>
                  <th>Action</th>
                  <th>Version that ran</th>
                  <th>Outcome</th>
                  <th>Fuel</th>
                  <th>Time</th>
                </tr>
              </thead>
              <tbody>
                {r.bindings.map((b, i) => (
                  <tr key={`${b.bindingId}-${i}`}>
                    <td>{i + 1}</td>
                    <td>
                      <a href={`#/actions/${encodeURIComponent(b.actionSlug)}`}>{b.actionSlug}</a>
                    </td>
                    <td>
                      <a href={`#/actions/${encodeURIComponent(b.actionSlug)}?version=${encodeURIComponent(b.actionVersion)}`}>
                        {b.actionVersion || '—'}
                      </a>
                    </td>
                    <td>
                      {OUTCOMES[b.outcome] ?? 'unknown'}
                      {b.failedOpen && ' (failed open)'}
                      {b.outcome === Outcome.DENIED && ' — stopped the flow'}
                    </td>
                    <td>{b.fuel.toLocaleString()}</td>
                    <td>{millis(b.durationUs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <RunResult result={r} />
        </>
      )}
    </section>
  );
}
