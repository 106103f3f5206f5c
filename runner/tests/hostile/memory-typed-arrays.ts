// expect: memory_limit_exceeded
// limits: {"memory_bytes": 33554432}
export function execute() {
  const all: Float64Array[] = [];
  while (true) all.push(new Float64Array(1 << 18));
}
