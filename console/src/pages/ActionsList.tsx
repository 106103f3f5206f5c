import { useEffect, useState } from 'react';
import { explain, type ApiClients } from '../api';
import type { Action } from '../gen/actions/controlplane/v1/management_pb';
import { navigate } from '../session';
import { UploadPackage } from '../components/UploadPackage';

type Row = Action & { boundAt: string[] };

export function ActionsList({ api }: { api: ApiClients }) {
  const [rows, setRows] = useState<Row[]>();
  const [problem, setProblem] = useState<string>();

  useEffect(() => {
    let live = true;
    (async () => {
      try {
        const actions: Action[] = [];
        let pageToken = '';
        do {
          const page = await api.actions.listActions({ pageSize: 100, pageToken });
          actions.push(...page.actions);
          pageToken = page.nextPageToken;
        } while (pageToken);
        const flows = await api.flows.listFlows({});
        const boundAt = new Map<string, string[]>();
        for (const flow of flows.flows)
          for (const slot of flow.slots)
            for (const b of slot.bindings) boundAt.set(b.actionSlug, [...(boundAt.get(b.actionSlug) ?? []), slot.trigger]);
        if (live) setRows(actions.map((a) => Object.assign(a, { boundAt: boundAt.get(a.slug) ?? [] })));
      } catch (error) {
        if (live) setProblem(explain(error));
      }
    })();
    return () => {
      live = false;
    };
  }, [api]);

  return (
    <section aria-labelledby="actions-title">
      <div className="page-head">
        <h1 id="actions-title">Actions</h1>
        <div className="actions-bar">
          <button type="button" onClick={() => navigate('/actions/new')}>
            New action
          </button>
          <UploadPackage api={api} onUploaded={(slug) => navigate(`/actions/${slug}?package`)} />
        </div>
      </div>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      {!rows && !problem && <p aria-busy="true">Loading…</p>}
      {rows && rows.length === 0 && <p>No Actions yet. Start with New action, or upload a package.</p>}
      {rows && rows.length > 0 && (
        <div className="table-wrap">
          <table className="list">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Slug</th>
                <th scope="col">Live version</th>
                <th scope="col">Triggers</th>
                <th scope="col">Where bound</th>
                <th scope="col">Latest version</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((a) => (
                <tr key={a.slug}>
                  <td>
                    <a
                      href={`#/actions/${a.slug}`}
                      onClick={(e) => {
                        e.preventDefault();
                        navigate(`/actions/${a.slug}`);
                      }}
                    >
                      {a.name}
                    </a>
                  </td>
                  <td>
                    <code>{a.slug}</code>
                  </td>
                  <td>{a.liveVersions.join(', ') || <span className="muted">not published</span>}</td>
                  <td>{a.triggers.join(', ')}</td>
                  <td>{a.boundAt.length ? a.boundAt.join(', ') : <span className="muted">not bound</span>}</td>
                  <td>{a.latestVersion}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
