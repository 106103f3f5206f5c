/** The lower-cased domain of an email address, if it has one. */
export function domainOf(email: string | undefined): string | undefined {
  const at = email?.lastIndexOf('@') ?? -1;
  if (email === undefined || at < 0) return undefined;
  return email.slice(at + 1).toLowerCase() || undefined;
}
