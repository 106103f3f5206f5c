// expect: guest_error
// guest-error: TypeError
// The event is deep-frozen: writes throw in module (strict) code.
export function execute(event: any, api: any) {
  event.user.app_metadata.tier = 'admin';
  return api.access.allow();
}
