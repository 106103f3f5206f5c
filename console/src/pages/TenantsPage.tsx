import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { explain, type ApiClients } from '../api';
import type { Tenant, TokenInfo } from '../gen/actions/controlplane/v1/management_pb';
import { slugOf } from '../slug';

const when = (ms: bigint) => new Date(Number(ms)).toLocaleString();

/** The operator's page: tenants, and their tokens (a new token's secret is shown once). */
export function TenantsPage({ api }: { api: ApiClients }) {
  const [tenants, setTenants] = useState<Tenant[]>();
  const [problem, setProblem] = useState<string>();
  const [name, setName] = useState('');
  const [open, setOpen] = useState<string>();

  const load = useCallback(async () => {
    try {
      const all: Tenant[] = [];
      let pageToken = '';
      do {
        const page = await api.tenants.listTenants({ pageSize: 100, pageToken });
        all.push(...page.tenants);
        pageToken = page.nextPageToken;
      } while (pageToken);
      setTenants(all);
    } catch (error) {
      setProblem(explain(error));
    }
  }, [api]);
  useEffect(() => {
    void load();
  }, [load]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    try {
      const tenant = await api.tenants.createTenant({ id: slugOf(name), name: name.trim() });
      setName('');
      await load();
      setOpen(tenant.id);
    } catch (error) {
      setProblem(`Tenant not created: ${explain(error)}`);
    }
  };

  return (
    <section aria-labelledby="tenants-title">
      <h1 id="tenants-title">Tenants</h1>
      <form onSubmit={create} className="inline-form" aria-label="Create tenant">
        <label>
          Tenant name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="Acme Corp" />
        </label>
        <span className="help">ID: {slugOf(name) || '—'}</span>
        <button type="submit" disabled={!slugOf(name)}>
          Create tenant
        </button>
      </form>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      {tenants && tenants.length === 0 && <p>No tenants yet.</p>}
      <ul className="tenants">
        {tenants?.map((t) => (
          <li key={t.id}>
            <button type="button" className="link" aria-expanded={open === t.id} onClick={() => setOpen(open === t.id ? undefined : t.id)}>
              {t.name} <code>{t.id}</code>
            </button>
            {open === t.id && <Tokens api={api} tenant={t.id} />}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Tokens({ api, tenant }: { api: ApiClients; tenant: string }) {
  const [tokens, setTokens] = useState<TokenInfo[]>([]);
  const [name, setName] = useState('');
  const [secret, setSecret] = useState<{ name: string; secret: string }>();
  const [problem, setProblem] = useState<string>();
  const load = useCallback(async () => {
    try {
      setTokens((await api.tenants.listTokens({ tenant })).tokens);
    } catch (error) {
      setProblem(explain(error));
    }
  }, [api, tenant]);
  useEffect(() => {
    void load();
  }, [load]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    try {
      const made = await api.tenants.createToken({ tenant, name: name.trim() });
      setSecret({ name: made.token?.name ?? name, secret: made.secret });
      setName('');
      await load();
    } catch (error) {
      setProblem(`Token not created: ${explain(error)}`);
    }
  };
  const revoke = async (token: TokenInfo) => {
    if (!window.confirm(`Revoke the token "${token.name}"? Whoever uses it is signed out at once.`)) return;
    try {
      await api.tenants.revokeToken({ id: token.id });
      await load();
    } catch (error) {
      setProblem(`Not revoked: ${explain(error)}`);
    }
  };

  return (
    <div className="tokens">
      <form onSubmit={create} className="inline-form" aria-label={`Create token for ${tenant}`}>
        <label>
          Token name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="ci" />
        </label>
        <button type="submit" disabled={!name.trim()}>
          Create token
        </button>
      </form>
      {secret && (
        <div role="status" className="secret">
          <p>
            The secret of <strong>{secret.name}</strong>, shown this once. Copy it now:
          </p>
          <input readOnly aria-label="New token secret" value={secret.secret} onFocus={(e) => e.target.select()} />
          <button type="button" className="secondary" onClick={() => setSecret(undefined)}>
            I have copied it
          </button>
        </div>
      )}
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Token</th>
            <th scope="col">Created</th>
            <th scope="col">State</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>{when(t.createdAtMs)}</td>
              <td>{t.revokedAtMs ? `revoked ${when(t.revokedAtMs)}` : 'valid'}</td>
              <td>
                {!t.revokedAtMs && (
                  <button type="button" className="danger" onClick={() => revoke(t)}>
                    Revoke {t.name}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
