// expect: guest_error
// guest-error: TypeError
export function execute(event: any, api: any) {
  const loop: any = { name: 'loop' };
  loop.self = loop;
  api.accessToken.setCustomClaim('https://x/loop', loop);
}
