// expect: guest_error
export function execute(event: any, api: any) {
  const nested: any = {};
  for (let i = 0; i < 20000; i++) nested['key' + i] = i;
  api.user.setAppMetadata('everything', nested);
  return api.access.allow();
}
