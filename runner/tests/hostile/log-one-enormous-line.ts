// expect: log_limit_exceeded
export function execute() {
  console.error('y'.repeat(16 * 1024 * 1024));
}
