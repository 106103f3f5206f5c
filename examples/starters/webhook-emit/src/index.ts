import type { Api, Event } from '../../../../javy-shims/types/actions';

interface Config {
  readonly webhook_url: string;
  readonly timeout_ms?: number;
}

// Post the new user to a URL. A slow or failing endpoint must not block
// sign-up: short timeout, and on failure log and carry on (fail open).
export async function execute(event: Event<Config>, api: Api) {
  const { id, email, name } = event.user;
  try {
    const response = await api.fetch(event.config.webhook_url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ event: 'user.signed_up', user_id: id, email, name }),
      timeout: event.config.timeout_ms ?? 1500,
    });
    if (!response.ok) console.warn(`webhook answered ${response.status}`);
  } catch (error) {
    console.error('webhook failed:', String(error));
  }
  return api.access.allow();
}
