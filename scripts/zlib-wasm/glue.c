/*
 * The exports of the gzip decoder: zlib's inflate (RFC 1951, in RFC 1952 gzip members), one
 * stream per WebAssembly instance, with the same exports as scripts/zstd-wasm/glue.c so that
 * one TypeScript class drives both (src/core/digest/wasm-decoder.ts).
 */
#include "zlib.h"
#include "../wasm-heap.h"

static voidpf zalloc(voidpf opaque, uInt n, uInt size) { (void)opaque; return zl_calloc(n, size); }
static void zfree(voidpf opaque, voidpf p) { (void)opaque; zl_free(p); }

static z_stream zs;
static unsigned char *in_buf, *out_buf;
static size_t in_size, out_cap;
/* The last member ended: the next input, if any, starts another (gzip -dc reads them all). */
static int member_ended;
static int last_error;

__attribute__((export_name("zl_init"))) int zl_init(size_t in_cap, size_t out_capacity) {
  zs.zalloc = zalloc;
  zs.zfree = zfree;
  in_buf = zl_malloc(in_cap);
  out_buf = zl_malloc(out_capacity);
  out_cap = out_capacity;
  /* 16 + 15: a gzip wrapper (RFC 1952) around a 32 KiB window. */
  return in_buf && out_buf && inflateInit2(&zs, 16 + 15) == Z_OK;
}

__attribute__((export_name("zl_in_ptr"))) void *zl_in_ptr(void) { return in_buf; }
__attribute__((export_name("zl_out_ptr"))) void *zl_out_ptr(void) { return out_buf; }
__attribute__((export_name("zl_in_pos"))) size_t zl_in_pos(void) { return in_size - zs.avail_in; }
__attribute__((export_name("zl_out_pos"))) size_t zl_out_pos(void) { return out_cap - zs.avail_out; }

__attribute__((export_name("zl_feed"))) void zl_feed(size_t size) {
  zs.next_in = in_buf;
  zs.avail_in = (uInt)size;
  in_size = size;
}

#define STEP_ERROR ((size_t)-1)

/*
 * One call of inflate into an emptied output buffer: 0 when a member has just ended (and all
 * its output is in the buffer), STEP_ERROR (zl_is_error), or 1 while more is to come.
 */
__attribute__((export_name("zl_step"))) size_t zl_step(void) {
  zs.next_out = out_buf;
  zs.avail_out = (uInt)out_cap;
  if (member_ended) {
    if (zs.avail_in == 0) return 0;
    inflateReset(&zs);
    member_ended = 0;
  }
  int r = inflate(&zs, Z_NO_FLUSH);
  if (r == Z_STREAM_END) {
    member_ended = 1;
    return zs.avail_in > 0 ? 1 : 0;
  }
  /* Z_BUF_ERROR: no progress without more input, which is not an error in a stream. */
  if (r == Z_OK || r == Z_BUF_ERROR) return 1;
  last_error = r;
  return STEP_ERROR;
}

__attribute__((export_name("zl_is_error"))) unsigned zl_is_error(size_t code) { return code == STEP_ERROR; }

__attribute__((export_name("zl_error_name"))) const char *zl_error_name(size_t code) {
  (void)code;
  if (zs.msg) return zs.msg;
  return last_error == Z_MEM_ERROR ? "out of memory" : "invalid data";
}
