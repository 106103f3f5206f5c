import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { explain, type ApiClients } from '../api';
import type { SecretInfo } from '../gen/actions/controlplane/v1/management_pb';
import { valueProblem } from '../secrets';

type Props = {
  api: ApiClients;
  slug: string;
  /** Changes when a version is saved or published: the list is read again. */
  reloadKey: unknown;
  /** Names a refused publish said have no value: marked in the list. */
  highlighted: string[];
  /** Told the list each time it is read. */
  onListed: (secrets: SecretInfo[]) => void;
};

const when = (ms: bigint) => new Date(Number(ms)).toLocaleString();

/**
 * The Secrets tab: the Action's secrets (declared by its latest version, or
 * set), who set each and when, never a value. A value is typed into a
 * password field, sent, and cleared: nothing shows it again.
 */
export function SecretsPanel({ api, slug, reloadKey, highlighted, onListed }: Props) {
  const [secrets, setSecrets] = useState<SecretInfo[]>();
  const [problem, setProblem] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const listed = useRef(onListed);
  listed.current = onListed;

  const load = useCallback(async () => {
    try {
      const { secrets: list } = await api.secrets.listSecrets({ actionSlug: slug });
      setSecrets(list);
      listed.current(list);
    } catch (error) {
      setProblem(`The secrets could not be read: ${explain(error)}`);
    }
  }, [api, slug]);
  useEffect(() => {
    void load();
  }, [load, reloadKey]);

  const changed = async (message: string) => {
    setProblem(undefined);
    setNotice(message);
    await load();
  };

  if (!secrets) return problem ? <p role="alert" className="error">{problem}</p> : <p aria-busy="true">Loading…</p>;
  const unset = secrets.filter((s) => s.declared && !s.set);
  return (
    <div className="secrets-panel">
      <p className="help">
        Values are encrypted at rest, sent only to runners, and redacted as <code>[redacted]</code> from run output. Nothing here ever shows
        one: a value set is replaced or removed, not read. Declare a secret in “Secrets it reads” above and save to list it here.
      </p>
      {notice && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      {unset.length > 0 && (
        <p className="warning" data-testid="unset-secrets">
          No value yet: {unset.map((s) => s.name).join(', ')}. Publishing a version that reads {unset.length === 1 ? 'it' : 'them'} is refused until set.
        </p>
      )}
      {secrets.length === 0 ? (
        <p className="muted">This Action declares no secrets and has none set.</p>
      ) : (
        <div className="table-wrap">
          <table className="list" aria-label="Secrets">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">What it is for</th>
                <th scope="col">State</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {secrets.map((s) => (
                <tr key={s.name} className={highlighted.includes(s.name) && !s.set ? 'marked' : undefined}>
                  <th scope="row">
                    <code>{s.name}</code>
                  </th>
                  <td>{s.description || <span className="muted">—</span>}</td>
                  <td data-testid={`secret-state-${s.name}`}>
                    {s.set ? (
                      <>
                        <span className="badge live">set</span> by {s.setBy || 'unknown'}, {when(s.setAtMs)}
                      </>
                    ) : (
                      <span className="badge unsaved">not set</span>
                    )}
                    {s.declared ? (
                      !s.set && <span className="help"> Publishing is refused until set.</span>
                    ) : (
                      <span className="help"> Not declared by the latest version (it does not read it).</span>
                    )}
                  </td>
                  <td>
                    <SecretValue api={api} slug={slug} secret={s} onChanged={changed} onProblem={setProblem} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function SecretValue({
  api,
  slug,
  secret,
  onChanged,
  onProblem,
}: {
  api: ApiClients;
  slug: string;
  secret: SecretInfo;
  onChanged: (message: string) => Promise<void>;
  onProblem: (problem: string) => void;
}) {
  const [value, setValue] = useState('');
  const [fieldProblem, setFieldProblem] = useState<string>();
  const [busy, setBusy] = useState(false);
  const id = `secret-value-${secret.name}`;

  const set = async (e: FormEvent) => {
    e.preventDefault();
    const bad = valueProblem(value);
    setFieldProblem(bad);
    if (bad) return;
    setBusy(true);
    try {
      await api.secrets.setSecret({ actionSlug: slug, name: secret.name, value });
      setValue('');
      await onChanged(`${secret.name} ${secret.set ? 'replaced' : 'set'}. Its value is not shown again.`);
    } catch (error) {
      // The value stays in its (hidden) field for another try.
      onProblem(`${secret.name} not set: ${explain(error)}`);
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    if (!window.confirm(`Remove the value of ${secret.name}? Runs of this Action will no longer have it.`)) return;
    setBusy(true);
    try {
      await api.secrets.removeSecret({ actionSlug: slug, name: secret.name });
      await onChanged(`${secret.name} removed.`);
    } catch (error) {
      onProblem(`${secret.name} not removed: ${explain(error)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="secret-value" onSubmit={set} aria-label={`Set ${secret.name}`}>
      <label htmlFor={id} className="visually-hidden">
        {secret.set ? `New value of ${secret.name}` : `Value of ${secret.name}`}
      </label>
      <input
        id={id}
        type="password"
        autoComplete="new-password"
        spellCheck={false}
        value={value}
        placeholder={secret.set ? '•••••• (set; type to replace)' : 'Value'}
        aria-invalid={fieldProblem ? true : undefined}
        aria-describedby={fieldProblem ? `${id}-problem` : undefined}
        onChange={(e) => {
          setValue(e.target.value);
          setFieldProblem(undefined);
        }}
      />
      <button type="submit" disabled={busy}>
        {secret.set ? 'Replace' : 'Set'}
      </button>
      {secret.set && (
        <button type="button" className="danger" disabled={busy} onClick={remove} aria-label={`Remove ${secret.name}`}>
          Remove
        </button>
      )}
      {fieldProblem && (
        <p id={`${id}-problem`} className="error field-error" role="alert">
          {fieldProblem}
        </p>
      )}
    </form>
  );
}
