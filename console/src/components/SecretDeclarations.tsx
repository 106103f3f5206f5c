import { declarationProblems, MAX_SECRETS, type SecretRow } from '../secrets';

type Props = {
  value: SecretRow[];
  onChange: (rows: SecretRow[]) => void;
  readOnly: boolean;
  /** The server's refusal about the declarations, if any. */
  problem?: string;
};

/**
 * The secrets the draft declares (saved with the version): a name and what
 * it is for. Values are not set here but in the Secrets tab, once saved.
 */
export function SecretDeclarations({ value, onChange, readOnly, problem }: Props) {
  const problems = declarationProblems(value);
  // A row just added is not wrong yet: its empty name is pointed out once a save is tried.
  if (!problem) value.forEach((row, i) => !row.name && delete problems[i]);
  const setRow = (i: number, patch: Partial<SecretRow>) => onChange(value.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <fieldset className="secret-declarations" aria-describedby="secrets-help">
      <legend>Secrets it reads</legend>
      <p id="secrets-help" className="help">
        Read in the code as <code>event.secrets.NAME</code>. Values are set in the Secrets tab once the Action is saved, and are never shown
        again; publishing is refused until each one has a value.
      </p>
      {value.length === 0 && <p className="muted">No secrets.</p>}
      {value.map((row, i) => (
        <div key={i} className="field-row" role="group" aria-label={`Secret ${row.name || i + 1}`}>
          <label>
            Secret name
            <input
              value={row.name}
              readOnly={readOnly}
              spellCheck={false}
              placeholder="API_KEY"
              aria-invalid={problems[i] ? true : undefined}
              aria-describedby={problems[i] ? `secret-${i}-problem` : undefined}
              onChange={(e) => setRow(i, { name: e.target.value })}
            />
          </label>
          <label>
            What it is for
            <input value={row.description} readOnly={readOnly} onChange={(e) => setRow(i, { description: e.target.value })} />
          </label>
          <div className="row-buttons">
            <button
              type="button"
              className="icon danger"
              aria-label={`Remove the secret ${row.name || i + 1}`}
              disabled={readOnly}
              onClick={() => onChange(value.filter((_, j) => j !== i))}
            >
              ✕
            </button>
          </div>
          {problems[i] && (
            <p id={`secret-${i}-problem`} className="error field-error" role="alert">
              {problems[i]}
            </p>
          )}
        </div>
      ))}
      {!readOnly && (
        <button type="button" className="secondary" disabled={value.length >= MAX_SECRETS} onClick={() => onChange([...value, { name: '', description: '' }])}>
          Add secret
        </button>
      )}
      {(problems[-1] || problem) && (
        <p className="error" role="alert">
          {[problems[-1], problem].filter(Boolean).join(' ')}
        </p>
      )}
    </fieldset>
  );
}
