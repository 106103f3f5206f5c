// expect: out_of_fuel
// limits: {"fuel": 50000000}
// Each step is a new microtask: no single JS call ever runs long.
const spin = (): Promise<void> => Promise.resolve().then(spin);
export async function execute() {
  await spin();
}
