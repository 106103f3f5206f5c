// expect: guest_error
// guest-error: Trap
// The Wasm stack runs out before QuickJS's own check fires: an overflow
// cannot be caught, it ends the run (and the next run is clean).
const down = (n: number): number => down(n + 1) + 1;
export function execute(event: any, api: any) {
  try {
    down(0);
  } catch {
    api.accessToken.setCustomClaim('https://x/survived', true);
  }
  return api.access.allow();
}
