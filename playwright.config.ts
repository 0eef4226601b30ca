import { defineConfig, devices } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './test/chromium';

const port = 4178;
const host = '127.0.0.1';
const baseURL = `http://${host}:${port}`;

export default defineConfig({
  testDir: 'test/e2e',
  // A docker-registry on 127.0.0.1 filled by skopeo, for registry.spec.ts.
  globalSetup: './test/e2e/global-setup.ts',
  outputDir: 'test-results/playwright',
  workers: 2,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: process.env.CI ? 'line' : 'list',
  use: {
    baseURL,
    acceptDownloads: true,
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
      },
    },
  ],
  webServer: {
    command: 'npm start',
    url: baseURL,
    // ALLOW_LOCAL_REGISTRIES: the proxy may reach the test registry on 127.0.0.1.
    env: { PORT: String(port), HOST: host, ALLOW_LOCAL_REGISTRIES: '1' },
    reuseExistingServer: !process.env.CI,
    // The first start may include a full production build.
    timeout: 180_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
