// TypeScript declarations for Actions: `event`, `api` and `console` as the
// sandbox gives them. Scaffolded packages reference this file, so that an
// editor completes `event.` and `api.`:
//
//   import type { Event, Api } from './actions';
//   export async function execute(event: Event, api: Api) { ... }
//
// Type-only imports disappear at compile time; they may name any path.

/** JSON values, as claims, metadata and config hold them. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The trigger slots of the identity platform's flows. */
export type TriggerName =
  | 'login.pre-credential-check'
  | 'login.post-login'
  | 'registration.pre-create'
  | 'registration.post-create';

export interface Identity {
  readonly provider: string;
  readonly user_id: string;
  readonly connection?: string;
  readonly is_social?: boolean;
}

export interface User {
  readonly id: string;
  readonly email?: string;
  readonly email_verified?: boolean;
  readonly name?: string;
  readonly username?: string;
  readonly phone_number?: string;
  readonly created_at?: string;
  readonly last_login?: string;
  readonly logins_count?: number;
  readonly app_metadata?: { readonly [key: string]: Json };
  readonly user_metadata?: { readonly [key: string]: Json };
  readonly identities?: readonly Identity[];
}

export interface Request {
  readonly ip?: string;
  readonly country?: string;
  readonly asn?: number;
  readonly is_vpn?: boolean;
  readonly is_tor?: boolean;
  readonly is_proxy?: boolean;
  readonly user_agent?: string;
  readonly hostname?: string;
  readonly locale?: string;
}

export interface Client {
  readonly id: string;
  readonly name?: string;
  readonly metadata?: { readonly [key: string]: Json };
}

export interface Connection {
  readonly id: string;
  readonly name?: string;
  readonly strategy?: string;
}

export interface Transaction {
  readonly id?: string;
  readonly protocol?: string;
  readonly requested_scopes?: readonly string[];
}

/**
 * What the Action runs on: deep-frozen, so every field is read-only.
 * `Config` is the binding's configuration (validated against the Action's
 * config schema). `Secrets` are the values a tenant admin set for the
 * secrets the manifest declares; `action init` and `action build` write
 * them as `Secrets` in `types/secrets.d.ts`, from `action.json`:
 * `Event<Config, Secrets>`.
 */
export interface Event<
  Config = { readonly [key: string]: Json },
  Secrets = { readonly [name: string]: string | undefined },
> {
  readonly trigger: TriggerName;
  readonly tenant?: { readonly id: string; readonly name?: string };
  readonly user: User;
  readonly request?: Request;
  readonly client: Client;
  readonly connection?: Connection;
  readonly transaction?: Transaction;
  readonly config: Config;
  /** Never logged: any value of a secret is redacted from logs, errors and records. */
  readonly secrets: Secrets;
}

/** What `api.access.allow()` and `api.access.deny()` return. */
export interface Decision {
  readonly decision: 'allow' | 'deny';
}

export interface FetchInit {
  method?: string;
  headers?: { [name: string]: string };
  body?: string;
  /** Milliseconds; capped by the runner and by what is left of the run's deadline. */
  timeout?: number;
}

export interface FetchResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { readonly [lowerCaseName: string]: string } & { get(name: string): string | null };
  text(): Promise<string>;
  json(): Promise<Json>;
}

/**
 * Side effects. Each trigger allows only the methods that make sense there;
 * calling another throws and logs an error:
 * - login.pre-credential-check: access, fetch
 * - login.post-login: everything
 * - registration.pre-create: access, user, fetch
 * - registration.post-create: access.allow, user, fetch
 */
export interface Api {
  readonly access: {
    allow(): Decision;
    /** The first deny of a run stands; `reason` is shown to the user. */
    deny(reason?: string): Decision;
  };
  readonly accessToken: {
    /** Reserved claims (iss, sub, aud, exp, iat, nbf, azp, scope, ...) are refused: namespace yours. */
    setCustomClaim(name: string, value: Json): void;
    addScope(scope: string): void;
    removeScope(scope: string): void;
  };
  readonly idToken: {
    setCustomClaim(name: string, value: Json): void;
  };
  readonly user: {
    setAppMetadata(key: string, value: Json): void;
    setUserMetadata(key: string, value: Json): void;
  };
  /** http and https only; private and loopback addresses are refused. */
  fetch(url: string, init?: FetchInit): Promise<FetchResponse>;
}

/** The function every Action exports. Returning nothing allows. */
export type Execute<Config = { readonly [key: string]: Json }> = (
  event: Event<Config>,
  api: Api,
) => void | Decision | Promise<void | Decision>;

declare global {
  /** Captured per run with level and timestamp; capped by the run's log limit. */
  const console: {
    log(...values: unknown[]): void;
    info(...values: unknown[]): void;
    warn(...values: unknown[]): void;
    error(...values: unknown[]): void;
    debug(...values: unknown[]): void;
  };
}
