// expect: guest_error
// guest-error: TypeError
export function execute(event: any, api: any) {
  let value: any = 1;
  for (let i = 0; i < 10000; i++) value = [value];
  api.accessToken.setCustomClaim('https://x/deep', value);
}
