// expect: out_of_fuel
// limits: {"fuel": 50000000}
export function execute() {
  try {
    while (true) {}
  } finally {
    while (true) {}
  }
}
