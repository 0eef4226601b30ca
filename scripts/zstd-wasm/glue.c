/*
 * The exports of zstd-decoder.wasm: one streaming decompression context per WebAssembly
 * instance (the TypeScript side instantiates the module once per stream, so a frame's window,
 * up to 128 MiB, goes with its instance instead of staying in a memory that never shrinks),
 * driven through ZSTD_decompressStream (zstd.h, "Streaming decompression - HowTo").
 */
#define ZSTD_STATIC_LINKING_ONLY
#include "zstd.h"
#include "zstd_errors.h"

/* ---- A first-fit heap with coalescing. zstd keeps a handful of blocks alive (the context,
 * its window and block buffers), so a list walk is cheap. Each block starts with a header
 * holding its size (header included, a multiple of 16) and, in bit 0, whether it is in use. */

extern unsigned char __heap_base;
static size_t heap_start, heap_top;

#define ALIGN 16u
#define HEADER 16u
#define PAGE 65536u

static size_t *block_at(size_t at) { return (size_t *)at; }

static int grow_to(size_t end) {
  size_t have = __builtin_wasm_memory_size(0) * PAGE;
  if (end <= have) return 1;
  size_t pages = (end - have + PAGE - 1) / PAGE;
  return __builtin_wasm_memory_grow(0, pages) != (size_t)-1;
}

void *zl_malloc(size_t size) {
  if (size > 0x7fff0000u) return 0;
  if (!heap_start) heap_start = heap_top = ((size_t)&__heap_base + ALIGN - 1) & ~(size_t)(ALIGN - 1);
  size_t need = (size + HEADER + ALIGN - 1) & ~(size_t)(ALIGN - 1);
  for (size_t at = heap_start; at < heap_top;) {
    size_t *h = block_at(at);
    size_t len = *h & ~(size_t)1;
    if (!(*h & 1)) {
      /* Merge the free blocks that follow, so freed neighbours serve a larger request. */
      size_t next = at + len;
      while (next < heap_top && !(*block_at(next) & 1)) {
        len += *block_at(next);
        next = at + len;
      }
      if (next == heap_top) {
        /* A free block at the end: give it back to the top. */
        heap_top = at;
        break;
      }
      *h = len;
      if (len >= need) {
        if (len - need >= HEADER + ALIGN) {
          *block_at(at + need) = len - need;
          len = need;
        }
        *h = len | 1;
        return (void *)(at + HEADER);
      }
    }
    at += len;
  }
  if (!grow_to(heap_top + need)) return 0;
  size_t at = heap_top;
  *block_at(at) = need | 1;
  heap_top += need;
  return (void *)(at + HEADER);
}

void *zl_calloc(size_t n, size_t size) {
  if (size && n > (size_t)-1 / size) return 0;
  void *p = zl_malloc(n * size);
  if (p) __builtin_memset(p, 0, n * size);
  return p;
}

void zl_free(void *p) {
  if (!p) return;
  size_t at = (size_t)p - HEADER;
  *block_at(at) &= ~(size_t)1;
  if (at + *block_at(at) == heap_top) heap_top = at;
}

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
