// expect: guest_error
// guest-error: NonErrorThrown
export function execute() {
  throw {
    get name(): string { throw new Error('no name'); },
    get message(): string { throw new Error('no message'); },
  };
}
