// expect: denied
// claims: {"https://x/refused": 5}
// Every write is refused (frozen), so the real api still answers.
export function execute(event: any, api: any) {
  const attempts: (() => void)[] = [
    () => { api.access.allow = () => ({ decision: 'allow' }); },
    () => { api.access = {}; },
    () => { delete api.accessToken.setCustomClaim; },
    () => { Object.defineProperty(api, 'fetch', { value: null }); },
    () => { Object.setPrototypeOf(api.access, null); },
  ];
  let refused = 0;
  for (const attempt of attempts) {
    try { attempt(); } catch { refused++; }
  }
  api.accessToken.setCustomClaim('https://x/refused', refused);
  return api.access.deny('the real deny');
}
