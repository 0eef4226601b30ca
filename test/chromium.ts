/**
 * How every test and benchmark launches Chromium: Debian's build (nothing may be downloaded
 * here, so no `playwright install`), or the one CHROMIUM_PATH names.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Without network beyond the package registries, Chromium's background services stall on
 * refused connections unless these are switched off; as root it needs --no-sandbox.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
