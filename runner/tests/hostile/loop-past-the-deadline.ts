// expect: deadline_exceeded
// limits: {"fuel": 20000000000, "deadline_ms": 100}
// Fuel to spare: only the wall clock stops it.
export function execute() {
  let n = 0;
  while (true) n++;
}
