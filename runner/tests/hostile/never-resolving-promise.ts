// expect: guest_error
// guest-error: Unsettled
export async function execute() {
  await new Promise(() => {});
}
