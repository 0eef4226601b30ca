/**
 * What the registry proxy (proxy/registry-proxy.ts) and the page's registry client
 * (client.ts) agree on: one header on every answer of the proxy, and how large a JSON document
 * may be. Pure constants, so that the Node server and the browser code import the same values.
 */

/**
 * Set on every answer of the proxy. Without it, the answer came from a web server with no
 * proxy (a static host serving its own page for any path), and reading it as the registry's
 * would give a JSON error or a wrong "not found".
 */
export const PROXY_HEADER = 'X-Layerlens-Proxy';
/** Its value on an answer relayed from the registry. */
export const PROXY_RELAYED = '1';
/**
 * Its value on an answer the proxy gives itself (a refused address, an unreachable registry, a
 * timeout): the registry was not reached, so its status says nothing of the registry.
 */
export const PROXY_SELF = 'self';

/**
 * The most bytes of a JSON document read whole: a manifest or index, a referrers index, a token,
 * a tag list. Docker's registry refuses to store a manifest over 4 MiB (distribution's
 * `maxManifestBodySize`), and containers/image (skopeo, podman) reads no more of one.
 */
export const MAX_DOCUMENT_BYTES = 4 << 20;
