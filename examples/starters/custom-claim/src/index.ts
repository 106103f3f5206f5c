import type { Api, Event } from '../../../../javy-shims/types/actions';

interface Config {
  readonly claim?: string;
  readonly default_tier?: string;
}

// Put the user's tier on the access and ID tokens.
export async function execute(event: Event<Config>, api: Api) {
  const claim = event.config.claim ?? 'https://example.com/tier';
  const tier = event.user.app_metadata?.tier ?? event.config.default_tier ?? 'free';
  api.accessToken.setCustomClaim(claim, tier);
  api.idToken.setCustomClaim(claim, tier);
  console.log(`tier is ${tier}`);
  return api.access.allow();
}
