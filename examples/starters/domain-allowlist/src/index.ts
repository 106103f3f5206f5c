import type { Api, Event } from '../../../../javy-shims/types/actions';
import { domainOf } from './email';

interface Config {
  readonly allowed_domains: readonly string[];
}

// Reject sign-ins and sign-ups whose email is outside a list of domains.
export async function execute(event: Event<Config>, api: Api) {
  const domain = domainOf(event.user.email);
  if (domain === undefined) {
    console.info('no email on this identity (social sign-in?): allowed');
    return api.access.allow();
  }
  const allowed = event.config.allowed_domains.map((d) => d.toLowerCase());
  if (allowed.includes(domain)) {
    return api.access.allow();
  }
  console.warn(`refused ${domain}`);
  return api.access.deny(`Sign-in restricted. Use an email at one of: ${allowed.join(', ')}.`);
}
