import type { Api, Event } from '../../../../javy-shims/types/actions';

export async function execute(event: Event, api: Api) {
  const email = event.user?.email;
  if (!email) return api.access.allow(); // social sign-in: skip

  const domain = email.split('@')[1]?.toLowerCase();
  const allowed = (event.client.metadata?.allowed_domains ?? []) as string[];

  if (allowed.includes(domain)) {
    return api.access.allow();
  }

  return api.access.deny(`Sign-in restricted. Use an email at one of: ${allowed.join(', ')}.`);
}
