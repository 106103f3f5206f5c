// expect: memory_limit_exceeded
// limits: {"memory_bytes": 33554432}
export function execute() {
  const all: number[][] = [];
  while (true) all.push(new Array(100000).fill(1));
}
