// expect: denied
// The reason is cut to its limit, not copied whole.
export function execute(event: any, api: any) {
  return api.access.deny('no'.repeat(5 * 1024 * 1024));
}
