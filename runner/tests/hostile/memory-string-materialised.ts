// expect: memory_limit_exceeded
// limits: {"memory_bytes": 33554432}
export function execute() {
  const keep: string[] = [];
  let s = 'xy';
  while (true) {
    s = s + s;
    keep.push(s.toUpperCase());
  }
}
