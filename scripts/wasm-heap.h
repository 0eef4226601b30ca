/*
 * The heap of a freestanding wasm32 decoder (scripts/zstd-wasm, scripts/zlib-wasm): included by
 * each glue.c, so that every instance has its own.
 */
#include <stddef.h>

/* A first-fit heap with coalescing. A decoder keeps a handful of blocks alive (its context,
 * its window, its buffers), so a list walk is cheap. Each block starts with a header
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
