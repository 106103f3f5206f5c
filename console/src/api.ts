// The management API, over gRPC-Web on the console's own origin, through
// clients generated from proto/. Every call carries the signed-in token.
import { Code, ConnectError, createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import {
  Actions,
  Audit,
  Flows,
  Secrets,
  SourceProblemSchema,
  Tenants,
  Tests,
  type SourceProblem,
} from './gen/actions/controlplane/v1/management_pb';

export type ApiClients = {
  tenants: Client<typeof Tenants>;
  actions: Client<typeof Actions>;
  flows: Client<typeof Flows>;
  tests: Client<typeof Tests>;
  audit: Client<typeof Audit>;
  secrets: Client<typeof Secrets>;
};

/** Called when the server says the token is no good any more. */
type OnUnauthenticated = () => void;

export function clients(token: string, onUnauthenticated: OnUnauthenticated): ApiClients {
  const bearer: Interceptor = (next) => async (request) => {
    request.header.set('authorization', `Bearer ${token}`);
    try {
      return await next(request);
    } catch (error) {
      if (ConnectError.from(error).code === Code.Unauthenticated) onUnauthenticated();
      throw error;
    }
  };
  const transport = createGrpcWebTransport({
    baseUrl: window.location.origin,
    interceptors: [bearer],
  });
  return {
    tenants: createClient(Tenants, transport),
    actions: createClient(Actions, transport),
    flows: createClient(Flows, transport),
    tests: createClient(Tests, transport),
    audit: createClient(Audit, transport),
    secrets: createClient(Secrets, transport),
  };
}

/** What went wrong, in words a tenant admin can act on. */
export function explain(error: unknown): string {
  const e = ConnectError.from(error);
  switch (e.code) {
    case Code.Unauthenticated:
      return 'Your session has ended (the token expired or was revoked). Sign in again: your work on this page is kept.';
    case Code.PermissionDenied:
      return `This token may not do that: ${e.rawMessage}`;
    case Code.Unavailable:
    case Code.Unknown:
      if (!e.rawMessage || /fetch|network|load failed/i.test(e.rawMessage)) {
        return 'Lost the connection to the control plane. Your work on this page is kept; try again in a moment.';
      }
      return e.rawMessage;
    case Code.DeadlineExceeded:
      return 'The control plane took too long to answer. Your work on this page is kept; try again.';
    default:
      return e.rawMessage || e.message;
  }
}

export function codeOf(error: unknown): Code {
  return ConnectError.from(error).code;
}

/** Where a source does not compile, when the server said so. */
export function sourceProblem(error: unknown): SourceProblem | undefined {
  return ConnectError.from(error).findDetails(SourceProblemSchema)[0];
}

export { Code };
