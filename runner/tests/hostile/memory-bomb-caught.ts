// expect: memory_limit_exceeded
// limits: {"memory_bytes": 33554432}
// Catching QuickJS's "out of memory" does not turn the run into a decision.
export function execute(event: any, api: any) {
  const all: Uint8Array[] = [];
  try {
    while (true) all.push(new Uint8Array(1 << 20));
  } catch {
    all.length = 0;
  }
  return api.access.allow();
}
