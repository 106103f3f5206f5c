// expect: out_of_fuel
// limits: {"fuel": 50000000}
// Describing the error runs its traps: they are bounded like everything else.
export function execute() {
  throw new Proxy({}, {
    get() {
      while (true) {}
    },
  });
}
