// expect: guest_error
const down = (n: number): number => down(n + 1) + 1;
export function execute() {
  down(0);
}
