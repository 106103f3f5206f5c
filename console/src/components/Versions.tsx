import { useEffect, useRef, useState } from 'react';
import { explain, type ApiClients } from '../api';
import type { Version } from '../gen/actions/controlplane/v1/management_pb';
import { monaco } from '../monaco';
import { unsetSecrets } from '../secrets';

type Props = {
  api: ApiClients;
  slug: string;
  versions: Version[];
  onPublished: () => void;
  /** A publish refused because these secrets have no value. */
  onUnsetSecrets: (refusal: { version: string; names: string[] }) => void;
  marked?: string;
};

const when = (ms: bigint) => (ms ? new Date(Number(ms)).toLocaleString() : '');

/** An Action's versions, newest first: a diff against the previous one, and publish (roll back). */
export function Versions({ api, slug, versions, onPublished, onUnsetSecrets, marked }: Props) {
  const [diffOf, setDiffOf] = useState<string>();
  const [problem, setProblem] = useState<string>();
  const [busy, setBusy] = useState<string>();

  const publish = async (version: string) => {
    setBusy(version);
    setProblem(undefined);
    try {
      await api.actions.publishVersion({ slug, version });
      onPublished();
    } catch (error) {
      setProblem(`Publishing ${version}: ${explain(error)}`);
      const names = unsetSecrets(error);
      if (names.length) onUnsetSecrets({ version, names });
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <div className="versions">
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      <div className="table-wrap">
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">State</th>
              <th scope="col">Saved</th>
              <th scope="col">By</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v, i) => (
              <tr key={v.version} className={v.version === marked ? 'marked' : undefined} aria-current={v.version === marked ? 'true' : undefined}>
                <td>
                  <code>{v.version}</code>
                </td>
                <td>{v.live ? <span className="badge live">live</span> : v.publishedAtMs ? 'was published' : 'draft'}</td>
                <td>{when(v.createdAtMs)}</td>
                <td>{v.createdBy}</td>
                <td className="row-buttons">
                  {i + 1 < versions.length && (
                    <button type="button" className="secondary" onClick={() => setDiffOf(diffOf === v.version ? undefined : v.version)}>
                      {diffOf === v.version ? 'Hide changes' : `Changes since ${versions[i + 1].version}`}
                    </button>
                  )}
                  {!v.live && (
                    <button type="button" className="secondary" disabled={!!busy} onClick={() => publish(v.version)}>
                      {busy === v.version ? 'Publishing…' : `Publish ${v.version}`}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {diffOf && (
        <VersionDiff api={api} slug={slug} version={diffOf} previous={versions[versions.findIndex((v) => v.version === diffOf) + 1].version} />
      )}
    </div>
  );
}

function VersionDiff({ api, slug, version, previous }: { api: ApiClients; slug: string; version: string; previous: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [problem, setProblem] = useState<string>();
  useEffect(() => {
    let disposed = false;
    const diff = monaco.editor.createDiffEditor(host.current!, {
      readOnly: true,
      automaticLayout: true,
      renderSideBySide: window.innerWidth > 900,
      minimap: { enabled: false },
    });
    const models: monaco.editor.ITextModel[] = [];
    (async () => {
      try {
        const [before, after] = await Promise.all([
          api.actions.getVersionSource({ slug, version: previous }),
          api.actions.getVersionSource({ slug, version }),
        ]);
        if (disposed) return;
        // Every file, and the metadata that matters to bindings, in one text per side.
        const text = (s: typeof before) =>
          [
            `// triggers: ${s.version?.triggers.join(', ')}`,
            `// config schema: ${s.version?.configSchemaJson}`,
            ...Object.entries(s.source?.files ?? {})
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([path, body]) => `// ---- ${path}\n${body}`),
          ].join('\n');
        models.push(monaco.editor.createModel(text(before), 'typescript'), monaco.editor.createModel(text(after), 'typescript'));
        diff.setModel({ original: models[0], modified: models[1] });
      } catch (error) {
        if (!disposed) setProblem(explain(error));
      }
    })();
    return () => {
      disposed = true;
      diff.dispose();
      models.forEach((m) => m.dispose());
    };
  }, [api, slug, version, previous]);
  return (
    <section aria-label={`Changes from ${previous} to ${version}`} className="diff">
      <h3>
        Changes from {previous} to {version}
      </h3>
      {problem && <p className="error">{problem}</p>}
      <div ref={host} className="diff-host" />
    </section>
  );
}
