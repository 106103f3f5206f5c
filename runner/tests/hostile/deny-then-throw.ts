// expect: guest_error
// guest-error: Error
// A failure after a deny is a failure: the binding's fail policy decides.
export function execute(event: any, api: any) {
  api.access.deny('first');
  throw new Error('then this');
}
