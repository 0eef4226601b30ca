/*
 * The exports of zstd-decoder.wasm: one streaming decompression context per WebAssembly
 * instance (the TypeScript side instantiates the module once per stream, so a frame's window,
 * up to 128 MiB, goes with its instance instead of staying in a memory that never shrinks),
 * driven through ZSTD_decompressStream (zstd.h, "Streaming decompression - HowTo").
 */
#define ZSTD_STATIC_LINKING_ONLY
#include "zstd.h"
#include "zstd_errors.h"

#include "../wasm-heap.h"

/* ---- The stream. */

static ZSTD_DCtx *dctx;
static ZSTD_inBuffer in;
static ZSTD_outBuffer out;

/* Makes the context and the two buffers; returns 0 when memory ran out. */
__attribute__((export_name("zl_init"))) int zl_init(size_t in_cap, size_t out_cap) {
  dctx = ZSTD_createDCtx();
  void *src = zl_malloc(in_cap);
  void *dst = zl_malloc(out_cap);
  if (!dctx || !src || !dst) return 0;
  in.src = src;
  in.size = in.pos = 0;
  out.dst = dst;
  out.size = out_cap;
  out.pos = 0;
  return 1;
}

__attribute__((export_name("zl_in_ptr"))) void *zl_in_ptr(void) { return (void *)in.src; }
__attribute__((export_name("zl_out_ptr"))) void *zl_out_ptr(void) { return out.dst; }
__attribute__((export_name("zl_in_pos"))) size_t zl_in_pos(void) { return in.pos; }
__attribute__((export_name("zl_out_pos"))) size_t zl_out_pos(void) { return out.pos; }

/* The next `size` bytes of input have been copied to zl_in_ptr(). */
__attribute__((export_name("zl_feed"))) void zl_feed(size_t size) {
  in.size = size;
  in.pos = 0;
}

/*
 * One call of ZSTD_decompressStream into an emptied output buffer: 0 when a frame has just been
 * completed and flushed, an error code (zl_is_error), or a hint (> 0) that more is to come.
 */
__attribute__((export_name("zl_step"))) size_t zl_step(void) {
  out.pos = 0;
  return ZSTD_decompressStream(dctx, &out, &in);
}

__attribute__((export_name("zl_is_error"))) unsigned zl_is_error(size_t code) { return ZSTD_isError(code); }
__attribute__((export_name("zl_error_code"))) int zl_error_code(size_t code) { return (int)ZSTD_getErrorCode(code); }
__attribute__((export_name("zl_error_name"))) const char *zl_error_name(size_t code) { return ZSTD_getErrorName(code); }
