// expect: guest_error
// An error whose report is larger than any host call may carry.
export function execute() {
  throw new Error('e'.repeat(6 * 1024 * 1024));
}
