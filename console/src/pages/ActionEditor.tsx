import { useCallback, useEffect, useMemo, useState } from 'react';
import { Code, codeOf, explain, sourceProblem, type ApiClients } from '../api';
import type { SourceProblem, TriggerSlot, Version } from '../gen/actions/controlplane/v1/management_pb';
import { narrowedDeclarations, setDeclarations } from '../monaco';
import { fromJsonSchema } from '../schema';
import { declarationProblems, declaredNames, secretsDeclarations, unsetSecrets, type SecretRow } from '../secrets';
import { navigate, setUnsavedWork } from '../session';
import { bumpPatch, isValidSlug, slugOf, versionProblem } from '../slug';
import { STARTERS } from '../starters';
import { CodeEditor } from '../components/CodeEditor';
import { SchemaBuilder } from '../components/SchemaBuilder';
import { SecretDeclarations } from '../components/SecretDeclarations';
import { SecretsPanel } from '../components/SecretsPanel';
import { TestTab, initialInputs, type TestInputs } from '../components/TestTab';
import { Versions } from '../components/Versions';
import { tabKeys } from '../tabKeys';

type Props = {
  api: ApiClients;
  slug?: string;
  starter?: string;
  fromPackage?: boolean;
  /** A version to show (a run's page links to the version that ran): opens Versions with it marked. */
  version?: string;
};

/** What the editor edits; compared with the last saved copy to know what is unsaved. */
type Draft = {
  name: string;
  slug: string;
  version: string;
  triggers: string[];
  schema: string;
  files: Record<string, string>;
  /** The secrets it reads (event.secrets), saved with the version. */
  secrets: SecretRow[];
};

type Tab = 'code' | 'test' | 'secrets' | 'versions';
const TAB_NAMES: Record<Tab, string> = { code: 'Code', test: 'Test', secrets: 'Secrets', versions: 'Versions' };

/** A publish refused because secrets the version reads have no value. */
type PublishRefusal = { version: string; names: string[] };

const same = (a: Draft, b: Draft) => JSON.stringify(a) === JSON.stringify(b);

export function ActionEditor({ api, slug, starter, fromPackage, version: shownVersion }: Props) {
  const [slots, setSlots] = useState<TriggerSlot[]>([]);
  const [draft, setDraft] = useState<Draft>();
  const [saved, setSaved] = useState<Draft>();
  /** Whether the Action exists on the server (its slug is then fixed). */
  const [exists, setExists] = useState(!!slug);
  const [versions, setVersions] = useState<Version[]>([]);
  const [slugTouched, setSlugTouched] = useState(false);
  const [tab, setTab] = useState<Tab>(shownVersion ? 'versions' : 'code');
  const [inputs, setInputs] = useState<TestInputs>();
  const [loadProblem, setLoadProblem] = useState<string>();
  const [saveProblem, setSaveProblem] = useState<string>();
  const [fieldProblems, setFieldProblems] = useState<Partial<Record<keyof Draft, string>>>({});
  const [compileProblem, setCompileProblem] = useState<SourceProblem>();
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const [refusal, setRefusal] = useState<PublishRefusal>();
  const readOnlyPackage = !!fromPackage;

  const load = useCallback(async () => {
    try {
      const flows = await api.flows.listFlows({});
      setSlots(flows.flows.flatMap((f) => f.slots));
      if (slug) {
        const [action, list] = await Promise.all([api.actions.getAction({ slug }), api.actions.listVersions({ slug, pageSize: 100 })]);
        const latest = list.versions[0];
        const source = await api.actions.getVersionSource({ slug, version: latest.version });
        const loaded: Draft = {
          name: action.name,
          slug: action.slug,
          version: bumpPatch(latest.version),
          triggers: latest.triggers,
          schema: JSON.stringify(JSON.parse(latest.configSchemaJson || '{}'), null, 2),
          files: source.source?.files ?? {},
          secrets: latest.secrets.map((d) => ({ name: d.name, description: d.description })),
        };
        setVersions(list.versions);
        setDraft(loaded);
        setSaved(loaded);
        setInputs((old) => old ?? initialInputs(latest.triggers[0] ?? '', undefined, '{}'));
      } else {
        const from = STARTERS.find((s) => s.id === starter) ?? STARTERS[0];
        const fresh: Draft = {
          name: '',
          slug: '',
          version: from.version,
          triggers: from.triggers,
          schema: from.configSchema,
          files: from.source,
          secrets: [],
        };
        setDraft(fresh);
        setSaved(fresh);
        setInputs(initialInputs(from.triggers[0] ?? '', Object.values(from.events)[0], from.config));
      }
    } catch (error) {
      setLoadProblem(codeOf(error) === Code.NotFound ? `There is no Action "${slug}".` : explain(error));
    }
  }, [api, slug, starter]);

  useEffect(() => {
    void load();
  }, [load]);

  const dirty = !!draft && !!saved && !same(draft, saved);
  useEffect(() => {
    setUnsavedWork(dirty ? 'This Action has unsaved changes.' : undefined);
    return () => setUnsavedWork(undefined);
  }, [dirty]);

  // The editor's types follow the chosen triggers: a method one of them refuses is an error.
  const allowed = useMemo(() => {
    const chosen = slots.filter((s) => draft?.triggers.includes(s.trigger));
    if (!chosen.length) return undefined;
    return chosen.map((s) => s.methods).reduce((a, b) => a.filter((m) => b.includes(m)));
  }, [slots, draft?.triggers]);
  // And event.secrets has the names the draft declares.
  const secretsKey = JSON.stringify(draft?.secrets ?? []);
  const secretNames = useMemo(() => declaredNames(JSON.parse(secretsKey) as SecretRow[]), [secretsKey]);
  useEffect(
    () => setDeclarations(secretsDeclarations(narrowedDeclarations(allowed), JSON.parse(secretsKey) as SecretRow[])),
    [allowed, secretsKey],
  );

  const configFields = useMemo(() => {
    const model = draft ? fromJsonSchema(draft.schema) : undefined;
    return model && !('problem' in model) ? model.fields.map((f) => ({ name: f.name, type: f.type })) : [];
  }, [draft]);

  const update = (patch: Partial<Draft>) => {
    setDraft((d) => (d ? { ...d, ...patch } : d));
    setFieldProblems((p) => {
      const next = { ...p };
      for (const key of Object.keys(patch)) delete next[key as keyof Draft];
      return next;
    });
    setNotice(undefined);
  };

  const onFileChange = useCallback((path: string, text: string) => {
    setCompileProblem(undefined);
    setDraft((d) => (d && d.files[path] !== text ? { ...d, files: { ...d.files, [path]: text } } : d));
  }, []);

  if (loadProblem) {
    return (
      <p role="alert" className="error">
        {loadProblem}
      </p>
    );
  }
  if (!draft || !inputs) return <p aria-busy="true">Loading…</p>;

  const check = (): boolean => {
    const problems: Partial<Record<keyof Draft, string>> = {};
    if (!draft.name.trim()) problems.name = 'Give the Action a name: it is what tenant admins see in the Actions list.';
    if (!isValidSlug(draft.slug)) problems.slug = "Use 1 to 64 lower-case letters, digits and '-', not starting or ending with '-'.";
    const vp = versionProblem(draft.version, versions.map((v) => v.version));
    if (vp) problems.version = `Version ${vp}.`;
    if (!draft.triggers.length) problems.triggers = 'Choose at least one trigger the Action is made for.';
    const schema = fromJsonSchema(draft.schema);
    if ('problem' in schema) problems.schema = `Config schema: ${schema.problem}.`;
    if (Object.keys(declarationProblems(draft.secrets)).length) problems.secrets = 'Fix the secrets it reads (marked above) first.';
    setFieldProblems(problems);
    return Object.keys(problems).length === 0;
  };

  const save = async (publish: boolean) => {
    setSaveProblem(undefined);
    setNotice(undefined);
    setRefusal(undefined);
    if (!check()) return;
    setBusy(publish ? 'Saving and publishing…' : 'Saving draft…');
    const request = {
      slug: draft.slug,
      version: draft.version.trim(),
      triggers: draft.triggers,
      configSchemaJson: draft.schema,
      source: { files: draft.files, entry: '' },
    };
    const secrets = draft.secrets.map((d) => ({ name: d.name, description: d.description.trim() }));
    let savedVersion: string | undefined;
    try {
      const answer = exists
        ? await api.actions.saveVersion({ ...request, secrets: { items: secrets } })
        : await api.actions.createAction({ ...request, name: draft.name.trim(), secrets });
      savedVersion = answer.version?.version;
      setExists(true);
      if (!slug) history.replaceState(null, '', `#/actions/${draft.slug}`);
      // Saved: the next version is what the editor now holds, whether or not publishing goes through.
      const next = { ...draft, version: bumpPatch(savedVersion ?? draft.version) };
      setSaved(next);
      setDraft(next);
      setVersions((await api.actions.listVersions({ slug: draft.slug, pageSize: 100 })).versions);
      if (publish && savedVersion) {
        await api.actions.publishVersion({ slug: draft.slug, version: savedVersion });
        setVersions((await api.actions.listVersions({ slug: draft.slug, pageSize: 100 })).versions);
      }
      setNotice(publish ? `Published ${savedVersion}: it is live for bindings that follow its major.` : `Saved ${savedVersion} as a draft (not published).`);
    } catch (error) {
      const at = sourceProblem(error);
      if (at) {
        setCompileProblem(at);
        setTab('code');
      }
      if (!savedVersion && codeOf(error) === Code.AlreadyExists) {
        setFieldProblems(exists ? { version: explain(error) } : { slug: explain(error) });
      }
      const unset = savedVersion ? unsetSecrets(error) : [];
      if (savedVersion && unset.length) setRefusal({ version: savedVersion, names: unset });
      setSaveProblem(
        savedVersion
          ? `Saved ${savedVersion}, but publishing it ${unset.length ? 'was refused' : 'failed'}: ${explain(error)}`
          : `Nothing was saved: ${explain(error)} Your changes are kept.`,
      );
    } finally {
      setBusy(undefined);
    }
  };

  const remove = async () => {
    if (!window.confirm(`Delete the Action "${draft.name}" and all its versions? This cannot be undone.`)) return;
    try {
      await api.actions.deleteAction({ slug: draft.slug });
      setUnsavedWork(undefined);
      navigate('/actions');
    } catch (error) {
      setSaveProblem(`Not deleted: ${explain(error)}`);
    }
  };

  const fieldError = (key: keyof Draft) =>
    fieldProblems[key] ? (
      <p id={`${key}-problem`} className="error field-error" role="alert">
        {fieldProblems[key]}
      </p>
    ) : null;
  const described = (key: keyof Draft, help?: string) => {
    const ids = [help, fieldProblems[key] ? `${key}-problem` : undefined].filter(Boolean).join(' ');
    return { 'aria-invalid': fieldProblems[key] ? true : undefined, 'aria-describedby': ids || undefined };
  };
  const live = versions.find((v) => v.live);

  const editorTabs = ['code', 'test', ...(exists ? ['secrets', 'versions'] : [])] as Tab[];
  return (
    <section className="editor" aria-labelledby="editor-title">
      <div className="page-head">
        <h1 id="editor-title">{exists ? draft.name || draft.slug : 'New action'}</h1>
        <span className="status">
          {live ? <span className="badge live">live {live.version}</span> : exists ? <span className="badge">not published</span> : null}
          {dirty && <span className="badge unsaved">unsaved changes</span>}
        </span>
        <div className="actions-bar">
          <button type="button" onClick={() => save(true)} disabled={!!busy || readOnlyPackage}>
            Save
          </button>
          <button type="button" className="secondary" onClick={() => save(false)} disabled={!!busy || readOnlyPackage}>
            Save draft
          </button>
          {exists && (
            <button type="button" className="danger" onClick={remove} disabled={!!busy}>
              Delete
            </button>
          )}
        </div>
        {exists && (
          <nav className="related" aria-label="About this Action">
            <a href={`#/runs?action=${encodeURIComponent(draft.slug)}`}>Runs of this Action</a>
            <a href={`#/audit?action=${encodeURIComponent(draft.slug)}`}>Audit of this Action</a>
          </nav>
        )}
      </div>
      {busy && <p aria-live="polite">{busy}</p>}
      {notice && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
      {saveProblem && (
        <p role="alert" className="error">
          {saveProblem}
        </p>
      )}
      {refusal && (
        <UnsetSecrets
          refusal={refusal}
          onOpen={(to) => {
            setTab(to);
            document.getElementById(`tab-${to}`)?.focus();
          }}
        />
      )}
      {readOnlyPackage && (
        <p className="notice">This Action came from a package: its files are read-only here. Change the package and upload it again.</p>
      )}

      <form className="metadata" aria-label="Metadata" onSubmit={(e) => e.preventDefault()}>
        <div className="meta-fields">
          <div className="field">
            <label htmlFor="meta-name">Name</label>
            <input
              id="meta-name"
              value={draft.name}
              readOnly={exists || readOnlyPackage}
              placeholder="Block by email domain"
              {...described('name', exists ? 'name-help' : undefined)}
              onChange={(e) => update(slugTouched || exists ? { name: e.target.value } : { name: e.target.value, slug: slugOf(e.target.value) })}
            />
            {exists && (
              <span id="name-help" className="help">
                What tenant admins see in the Actions list.
              </span>
            )}
            {fieldError('name')}
          </div>
          <div className="field">
            <label htmlFor="meta-slug">Slug</label>
            <input
              id="meta-slug"
              value={draft.slug}
              readOnly={exists}
              placeholder="block-by-email-domain"
              {...described('slug', 'slug-help')}
              onChange={(e) => {
                setSlugTouched(true);
                update({ slug: e.target.value });
              }}
            />
            <span id="slug-help" className="help">
              {exists ? 'Fixed once saved.' : 'URL-safe; derived from the name.'}
            </span>
            {fieldError('slug')}
          </div>
          <div className="field">
            <label htmlFor="meta-version">Version</label>
            <input
              id="meta-version"
              value={draft.version}
              readOnly={readOnlyPackage}
              {...described('version', 'version-help')}
              onChange={(e) => update({ version: e.target.value })}
            />
            <span id="version-help" className="help">
              Bumps on every save; you can set it.
            </span>
            {fieldError('version')}
          </div>
        </div>
        <fieldset className="triggers" {...described('triggers')}>
          <legend>Compatible triggers</legend>
          {slots.map((s) => (
            <label key={s.trigger} className="check" title={s.description}>
              <input
                type="checkbox"
                checked={draft.triggers.includes(s.trigger)}
                disabled={readOnlyPackage}
                onChange={(e) =>
                  update({ triggers: e.target.checked ? [...draft.triggers, s.trigger] : draft.triggers.filter((t) => t !== s.trigger) })
                }
              />
              <code>{s.trigger}</code>
            </label>
          ))}
          {fieldError('triggers')}
        </fieldset>
        <SchemaBuilder value={draft.schema} onChange={(schema) => update({ schema })} readOnly={readOnlyPackage} problem={fieldProblems.schema} />
        <SecretDeclarations value={draft.secrets} onChange={(secrets) => update({ secrets })} readOnly={readOnlyPackage} problem={fieldProblems.secrets} />
      </form>

      <div role="tablist" aria-label="Editor" className="tabs" onKeyDown={tabKeys(editorTabs, tab, setTab)}>
        {editorTabs.map((t) => (
          <button key={t} type="button" role="tab" id={`tab-${t}`} aria-selected={tab === t} aria-controls={`panel-${t}`} tabIndex={tab === t ? 0 : -1} onClick={() => setTab(t)}>
            {TAB_NAMES[t]}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="panel-code" aria-labelledby="tab-code" hidden={tab !== 'code'}>
        <CodeEditor files={draft.files} onChange={onFileChange} readOnly={readOnlyPackage} problem={compileProblem} configFields={configFields} secretNames={secretNames} />
        {compileProblem && (
          <p role="alert" className="error" data-testid="compile-problem">
            {compileProblem.file}, line {compileProblem.line}, column {compileProblem.column}: {compileProblem.message}
          </p>
        )}
      </div>
      {tab === 'test' && (
        <div role="tabpanel" id="panel-test" aria-labelledby="tab-test">
          <TestTab
            api={api}
            triggers={draft.triggers}
            files={draft.files}
            schema={draft.schema}
            secretNames={secretNames}
            slug={exists ? draft.slug : undefined}
            inputs={inputs}
            setInputs={setInputs}
            onSourceProblem={(p) => {
              // Show the problem where it is: the code, marked at its line.
              setCompileProblem(p);
              setTab('code');
            }}
          />
        </div>
      )}
      {tab === 'secrets' && (
        <div role="tabpanel" id="panel-secrets" aria-labelledby="tab-secrets">
          <SecretsPanel
            api={api}
            slug={draft.slug}
            reloadKey={versions}
            highlighted={refusal?.names ?? []}
            // Once set, a secret no longer stands in the way of the refused publish.
            onListed={(list) => {
              if (!refusal?.names.length) return;
              const names = refusal.names.filter((n) => !list.some((s) => s.name === n && s.set));
              if (names.length === refusal.names.length) return;
              setRefusal({ ...refusal, names });
              if (!names.length) setSaveProblem(undefined);
            }}
          />
        </div>
      )}
      {tab === 'versions' && (
        <div role="tabpanel" id="panel-versions" aria-labelledby="tab-versions">
          <Versions
            api={api}
            slug={draft.slug}
            versions={versions}
            marked={shownVersion}
            onUnsetSecrets={setRefusal}
            onPublished={async () => {
              setRefusal(undefined);
              setSaveProblem(undefined);
              const list = await api.actions.listVersions({ slug: draft.slug, pageSize: 100 });
              setVersions(list.versions);
            }}
          />
        </div>
      )}
    </section>
  );
}

/** Which secrets kept a version from being published, and the way to set them; once all are set, the way to publish. */
function UnsetSecrets({ refusal, onOpen }: { refusal: PublishRefusal; onOpen: (tab: 'secrets' | 'versions') => void }) {
  if (!refusal.names.length) {
    return (
      <div className="warning unset-secrets" role="status" aria-label="Ready to publish">
        <p>Every secret {refusal.version} reads has a value now: publish it from Versions.</p>
        <button type="button" className="secondary" onClick={() => onOpen('versions')}>
          Open Versions
        </button>
      </div>
    );
  }
  return (
    <div className="warning unset-secrets" role="alert" aria-label="Secrets without a value">
      <p>
        {refusal.version} reads {refusal.names.length === 1 ? 'a secret that has' : 'secrets that have'} no value:{' '}
        {refusal.names.map((n, i) => (
          <span key={n}>
            {i > 0 && ', '}
            <code>{n}</code>
          </span>
        ))}
        . Set {refusal.names.length === 1 ? 'it' : 'them'} in the Secrets tab, then publish {refusal.version} from Versions.
      </p>
      <button type="button" className="secondary" onClick={() => onOpen('secrets')}>
        Open the Secrets tab
      </button>
    </div>
  );
}
