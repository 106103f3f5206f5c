import type { Api, Event } from '../../../../javy-shims/types/actions';

export async function execute(event: Event, api: Api) {
  // event.* is read-only context: user, request, client, connection, config.
  // api.* has the side effects: access.deny(), accessToken.setCustomClaim(), fetch().
  return api.access.allow();
}
