import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The console is served by the control plane from dist/ (same origin as the
// gRPC-Web API). In `npm run dev`, Vite proxies the API to a local control
// plane (ACTIONS_CONTROL_PLANE, default http://127.0.0.1:50051).
const controlPlane = process.env.ACTIONS_CONTROL_PLANE ?? 'http://127.0.0.1:50051';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Monaco and its TypeScript worker are large by nature; they load once.
    chunkSizeWarningLimit: 8000,
  },
  worker: { format: 'es' },
  server: {
    // The starters and the declarations live beside the console, in the repository.
    fs: { allow: ['..'] },
    proxy: { '^/actions\\.': { target: controlPlane, changeOrigin: false } },
  },
  test: { include: ['src/**/*.test.ts'] },
});
