// expect: allowed
// claims: {"https://x/value": {"list": [1, 2], "tier": "gold"}}
// Replaces what the prelude relies on; the host still gets honest JSON,
// and the next run (observed after every entry of this corpus) sees none of it.
export function execute(event: any, api: any) {
  (Object.prototype as any).toJSON = () => 'polluted';
  (Object.prototype as any).polluted = true;
  (Array.prototype as any).toJSON = () => 'polluted';
  (Array.prototype as any).push = () => 0;
  (Function.prototype as any).call = () => 'hijacked';
  (String.prototype as any).toLowerCase = () => 'hijacked';
  (Promise.prototype as any).then = function () { return this; };
  JSON.stringify = () => '"replaced"';
  JSON.parse = () => ({ replaced: true });
  Object.freeze = <T>(o: T) => o;
  Math.random = () => 4;
  api.accessToken.setCustomClaim('https://x/value', { list: [1, 2], tier: event.user.app_metadata.tier });
  return api.access.allow();
}
