// expect: log_limit_exceeded
export function execute() {
  const line = 'x'.repeat(1024);
  for (let i = 0; i < 100000; i++) console.log(line);
}
