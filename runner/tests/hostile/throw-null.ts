// expect: guest_error
// guest-error: NonErrorThrown
export function execute() {
  throw null;
}
