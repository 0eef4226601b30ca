/// <reference lib="webworker" />
/**
 * Digests one blob at a time for the analysis worker: a slice of a dropped file, or a registry
 * layer it fetches itself. Several of these run at once so two layers are hashed and
 * decompressed on two cores (one stream cannot be split).
 */
import { digestBlob, digestPiped, digestPlain } from '../core/digest/digest-blob';
import { fetchBlobAndDigest } from '../core/registry/client';
import { packListing, packedBuffers } from '../core/layers/listing-transfer';
import { CancelledError } from '../core/digest/read-blob';
import type { FromDigestWorker, ToDigestWorker } from './digest-protocol';
import { prepareSha256 } from '../core/digest/sha256';
import { prepareDecoder } from '../core/digest/wasm-decoder';

declare const self: DedicatedWorkerGlobalScope;

// The pool starts this worker with the page: compile what the first layer needs meanwhile.
prepareSha256();
prepareDecoder('gzip');

const running = new Map<number, AbortController>();
const post = (m: FromDigestWorker) => self.postMessage(m);

self.onmessage = async (event: MessageEvent<ToDigestWorker>) => {
  const msg = event.data;
  if (msg.type === 'cancel') {
    running.get(msg.id)?.abort();
    return;
  }
  const controller = new AbortController();
  running.set(msg.id, controller);
  let lastPost = 0;
  const options = {
    listing: msg.listing,
    limits: msg.limits,
    layer: msg.layer,
    signal: controller.signal,
    onProgress: (bytesDone: number) => {
      const now = performance.now();
      if (now - lastPost < 50) return; // progress is for eyes: 20 updates a second is plenty
      lastPost = now;
      post({ type: 'progress', id: msg.id, bytesDone });
    },
  };
  try {
    const result =
      msg.type === 'digest'
        ? await digestBlob(msg.blob, {
            ...options,
            diffId: msg.diffId,
            plainTo: msg.plainTo,
            listSent: msg.listSent,
          })
        : msg.type === 'digest-plain'
          ? await digestPlain(msg.port, options)
          : msg.type === 'digest-piped'
            ? await digestPiped(msg.port, { ...options, diffId: msg.diffId, size: msg.size })
            : await fetchBlobAndDigest(msg.request, {
                ...options,
                diffId: msg.diffId,
                size: msg.size,
                keep: msg.keep,
              });
    const { listing, ...rest } = result;
    if (listing) {
      const packed = packListing(listing);
      self.postMessage(
        { type: 'result', id: msg.id, result: rest, packed } satisfies FromDigestWorker,
        packedBuffers(packed),
      );
    } else post({ type: 'result', id: msg.id, result });
  } catch (e) {
    post({
      type: 'error',
      id: msg.id,
      message: e instanceof Error ? e.message : String(e),
      cancelled: e instanceof CancelledError,
    });
  } finally {
    running.delete(msg.id);
  }
};
