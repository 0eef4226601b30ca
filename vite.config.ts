import { defineConfig, type Plugin, type PreviewServer, type ViteDevServer } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { createRegistryProxy, envFlag } from './proxy/registry-proxy';

/**
 * The registry proxy (proxy/) as middleware of the dev and preview servers, so `npm run dev`
 * reaches registries the same way `npm start` does. `ALLOW_LOCAL_REGISTRIES=1 npm run dev` lets
 * it reach registries on this machine.
 */
function registryProxy(): Plugin {
  const mountOn = (server: ViteDevServer | PreviewServer): void => {
    const proxy = createRegistryProxy({
      allowLocal: envFlag(process.env.ALLOW_LOCAL_REGISTRIES),
      log: (line) => console.log(line),
    });
    server.middlewares.use((req, res, next) => {
      if (!proxy(req, res)) next();
    });
    server.httpServer?.once('close', () => proxy.close());
  };
  return {
    name: 'layerlens-registry-proxy',
    configureServer: mountOn,
    configurePreviewServer: mountOn,
  };
}

export default defineConfig({
  plugins: [svelte(), registryProxy()],
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true },
  server: { port: 5173 },
});
