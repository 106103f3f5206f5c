import type { Api, Event } from '../../../../javy-shims/types/actions';

export async function execute(event: Event, api: Api) {
  const { id, email, name } = event.user;

  await api.fetch(event.client.metadata!.webhook_url as string, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      event: 'user.signed_up',
      user_id: id,
      email,
      name,
    }),
  });

  return api.access.allow();
}
