// expect: guest_error
// guest-error: TypeError
// The prelude's entry point runs once per instance.
export function execute() {
  (globalThis as any).__actions_start(async () => ({ execute() {} }));
}
