import { useState, type FormEvent } from 'react';

type Props = {
  onSignIn: (token: string) => Promise<string | undefined>;
  /** Inside the "sign in again" dialog rather than on its own page. */
  embedded?: boolean;
};

export function SignIn({ onSignIn, embedded }: Props) {
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!token.trim()) {
      setProblem('Paste a token first.');
      return;
    }
    setBusy(true);
    setProblem(await onSignIn(token));
    setBusy(false);
  };
  const form = (
    <form onSubmit={submit} className="signin-form" aria-label="Sign in">
      <label htmlFor="token">Token</label>
      <input
        id="token"
        type="password"
        autoComplete="off"
        value={token}
        onChange={(e) => setToken(e.target.value)}
        aria-describedby={problem ? 'signin-problem' : 'signin-help'}
        aria-invalid={problem ? true : undefined}
      />
      <p id="signin-help" className="help">
        A tenant token manages that tenant's Actions. The operator token manages tenants and their tokens.
      </p>
      {problem && (
        <p id="signin-problem" role="alert" className="error">
          {problem}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
  if (embedded) return form;
  return (
    <main className="signin">
      <h1>Actions console</h1>
      {form}
    </main>
  );
}
