// expect: guest_error
// Each claim is small; together they pass the effect limit.
export function execute(event: any, api: any) {
  for (let i = 0; i < 100000; i++) api.idToken.setCustomClaim('https://x/c' + i, i);
  return api.access.allow();
}
