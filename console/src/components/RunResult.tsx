import { Decision, Outcome, type ExecuteResponse } from '../gen/actions/runner/v1/execution_pb';

export const DECISIONS: Record<number, string> = { [Decision.ALLOW]: 'allow', [Decision.DENY]: 'deny' };
export const OUTCOMES: Record<number, string> = {
  [Outcome.ALLOWED]: 'allowed',
  [Outcome.DENIED]: 'denied',
  [Outcome.OUT_OF_FUEL]: 'out of fuel',
  [Outcome.DEADLINE_EXCEEDED]: 'deadline exceeded',
  [Outcome.MEMORY_LIMIT_EXCEEDED]: 'memory limit exceeded',
  [Outcome.LOG_LIMIT_EXCEEDED]: 'log limit exceeded',
  [Outcome.GUEST_ERROR]: 'error in the Action',
  [Outcome.HOST_ERROR]: 'error in the sandbox',
  [Outcome.SKIPPED]: 'skipped',
};

const pretty = (json: string) => {
  try {
    const value = JSON.parse(json || '{}');
    return Object.keys(value).length ? JSON.stringify(value, null, 2) : '';
  } catch {
    return json;
  }
};

/** One run as a tenant admin reads it: decision first, then what it changed, then each binding's output. */
export function RunResult({ result }: { result: ExecuteResponse }) {
  const decision = DECISIONS[result.decision] ?? 'none';
  const single = result.bindings.length === 1;
  const rows: [string, string][] = [
    ['Access-token claims', pretty(result.accessTokenClaimsJson)],
    ['ID-token claims', pretty(result.idTokenClaimsJson)],
    ['Scopes added', result.scopesAdded.join(', ')],
    ['Scopes removed', result.scopesRemoved.join(', ')],
    ['App metadata updates', pretty(result.appMetadataJson)],
    ['User metadata updates', pretty(result.userMetadataJson)],
  ];
  return (
    <section aria-label="Result" className="result">
      <dl className="summary">
        <div>
          <dt>Decision</dt>
          <dd data-testid="decision" className={`decision ${decision}`}>
            {decision}
          </dd>
        </div>
        {single && (
          <div>
            <dt>Outcome</dt>
            <dd data-testid="outcome">{OUTCOMES[result.bindings[0].outcome] ?? 'unknown'}</dd>
          </div>
        )}
        {single && (
          <div>
            <dt>Fuel</dt>
            <dd>{result.bindings[0].fuel.toLocaleString()}</dd>
          </div>
        )}
        <div>
          <dt>Time</dt>
          <dd>{(Number(result.durationUs) / 1000).toFixed(2)} ms</dd>
        </div>
      </dl>
      {result.denyReason && (
        <p>
          <strong>Deny reason:</strong> <span data-testid="deny-reason">{result.denyReason}</span>
        </p>
      )}
      {rows
        .filter(([, v]) => v)
        .map(([label, v]) => (
          <div key={label}>
            <h4>{label}</h4>
            <pre data-testid={label}>{v}</pre>
          </div>
        ))}
      {result.bindings.length === 0 && <p className="muted">No Action ran.</p>}
      {result.bindings.map((b, i) => (
        <div key={`${b.bindingId}-${i}`} className="binding-result" data-testid={`binding-${i + 1}`}>
          {!single && (
            <h4>
              {i + 1}. {b.actionSlug}
              {b.actionVersion && `@${b.actionVersion}`} — {OUTCOMES[b.outcome] ?? 'unknown'}
              {b.failedOpen && ' (failed open)'}
              <span className="muted">
                {' '}
                · fuel {b.fuel.toLocaleString()} · {(Number(b.durationUs) / 1000).toFixed(2)} ms
              </span>
            </h4>
          )}
          {b.error && (
            <p className="error">
              <strong>Error:</strong> {b.error}
            </p>
          )}
          <h4>{single ? 'Logs' : `Logs of ${b.actionSlug}`}</h4>
          {b.logs.length ? (
            <ol className="logs" aria-label={single ? 'Logs' : `Logs of ${b.actionSlug}`}>
              {b.logs.map((l, j) => (
                <li key={j} className={`log ${l.level}`}>
                  <span className="level">{l.level}</span>
                  {l.origin !== 'action' && <span className="origin">{l.origin}</span>}
                  <span className="message">{l.message}</span>
                </li>
              ))}
            </ol>
          ) : (
            <p className="muted">No output.</p>
          )}
        </div>
      ))}
    </section>
  );
}
