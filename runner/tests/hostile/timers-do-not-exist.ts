// expect: guest_error
// guest-error: TypeError
// No timers (`setTimeout` is undefined): nothing runs after execute settles.
export async function execute() {
  await new Promise((resolve) => (globalThis as any).setTimeout(resolve, 10));
}
