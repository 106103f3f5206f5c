// expect: out_of_fuel
// limits: {"fuel": 50000000}
export function execute() {
  while (true) {}
}
