// expect: guest_error
// guest-error: InternalError
// Concatenation makes ropes: the length passes QuickJS's 2^30 limit
// before the memory does ("string too long").
export function execute() {
  let s = 'xy';
  while (true) s = s + s;
}
