// expect: guest_error
export function execute(event: any, api: any) {
  api.accessToken.setCustomClaim('https://x/big', 'z'.repeat(10 * 1024 * 1024));
  return api.access.allow();
}
