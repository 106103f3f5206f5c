// expect: allowed
export function execute(event: any, api: any) {
  (globalThis as any).leaked = 'secret of the previous tenant';
  (globalThis as any).Date = function FakeDate() {};
  (globalThis as any).Array = null;
  try { (globalThis as any).console = null; } catch {}
  try { (globalThis as any).__actions_start = null; } catch {}
  return api.access.allow();
}
