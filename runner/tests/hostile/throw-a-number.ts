// expect: guest_error
// guest-error: NonErrorThrown
export async function execute() {
  throw 42;
}
