// expect: guest_error
export async function execute(event: any, api: any) {
  await api.fetch('https://api.example.com/', { method: 'POST', body: 'b'.repeat(8 * 1024 * 1024) });
}
