import type { Api, Event } from '../../../../javy-shims/types/actions';

export async function execute(event: Event, api: Api) {
  const tier = event.user.app_metadata?.tier ?? 'free';
  api.accessToken.setCustomClaim('https://cymmetri.com/tier', tier);
  return api.access.allow();
}
