// expect: guest_error
export function execute(event: any, api: any) {
  api.accessToken.addScope('s'.repeat(8 * 1024 * 1024));
  return api.access.allow();
}
