/*
 * inflate_fast() for the WebAssembly build: an altered version of zlib 1.2.13's inffast.c
 * (Copyright (C) 1995-2017 Mark Adler; zlib licence, scripts/zlib-wasm/LICENSE-zlib), not the
 * original. Two changes, both for wasm32, where zlib's `unsigned long` bit buffer is 32 bits:
 * - the bit buffer is 64 bits, refilled with one 8-byte load per code (the branchless refill:
 *   56 to 63 bits after it, enough for a length code, its extra bits, a distance code and its
 *   extra bits, 15 + 5 + 15 + 13 = 48, so no refill within one length/distance pair);
 * - a match at distance 8 or more within the output is copied 8 bytes at a time.
 * The decoding itself (RFC 1951 section 3.2.5, the tables from inftrees.c) is zlib's, line for line.
 * Near the ends of the buffers, where those loads and copies would cross them, zlib's own
 * inflate_fast runs, included below under another name. Measured in Node on the bench's layers:
 * 25-27% less time than zlib's (docs/decisions.md, "gzip").
 */

/* zlib's own, for the ends of the buffers. */
#define inflate_fast inflate_fast_bytewise
#include "inffast.c"
#undef inflate_fast

typedef unsigned long long u64;

static inline u64 load64(const unsigned char *p) {
    u64 v;
    __builtin_memcpy(&v, p, 8); /* wasm32 is little-endian */
    return v;
}

/* Bytes read at `in` by each refill. */
#define IN_SLACK 8
/* Bytes an 8-byte match copy may write past the match's end: output space not handed on yet. */
#define OUT_SLACK 8

void ZLIB_INTERNAL inflate_fast(z_streamp strm, unsigned start);

void ZLIB_INTERNAL inflate_fast(z_streamp strm, unsigned start) {
    struct inflate_state FAR *state;
    z_const unsigned char FAR *in, *last;
    unsigned char FAR *out, *beg, *end;
    unsigned wsize, whave, wnext;
    unsigned char FAR *window;
    u64 hold;
    unsigned bits;
    code const FAR *lcode, *dcode;
    unsigned lmask, dmask;
    code const *here;
    unsigned op, len, dist;
    unsigned char FAR *from;

    if (strm->avail_in < 2 * IN_SLACK || strm->avail_out < 258 + 2 * OUT_SLACK) {
        inflate_fast_bytewise(strm, start);
        return;
    }
    state = (struct inflate_state FAR *)strm->state;
    in = strm->next_in;
    last = in + (strm->avail_in - IN_SLACK);
    out = strm->next_out;
    beg = out - (start - strm->avail_out);
    end = out + (strm->avail_out - (258 + OUT_SLACK));
    wsize = state->wsize;
    whave = state->whave;
    wnext = state->wnext;
    window = state->window;
    hold = state->hold;
    bits = state->bits;
    lcode = state->lencode;
    dcode = state->distcode;
    lmask = (1U << state->lenbits) - 1;
    dmask = (1U << state->distbits) - 1;

    do {
        /* 56..63 bits: enough for a length code, its extra bits, a distance code and its extra
           bits (15 + 5 + 15 + 13 = 48), so no refill inside one iteration. */
        hold |= load64(in) << bits;
        in += (63 - bits) >> 3;
        bits |= 56;
        here = lcode + (hold & lmask);
      dolen:
        op = (unsigned)(here->bits);
        hold >>= op;
        bits -= op;
        op = (unsigned)(here->op);
        if (op == 0) {
            *out++ = (unsigned char)(here->val);
        }
        else if (op & 16) {
            len = (unsigned)(here->val);
            op &= 15;
            if (op) {
                len += (unsigned)hold & ((1U << op) - 1);
                hold >>= op;
                bits -= op;
            }
            here = dcode + (hold & dmask);
          dodist:
            op = (unsigned)(here->bits);
            hold >>= op;
            bits -= op;
            op = (unsigned)(here->op);
            if (op & 16) {
                dist = (unsigned)(here->val);
                op &= 15;
                dist += (unsigned)hold & ((1U << op) - 1);
                hold >>= op;
                bits -= op;
                op = (unsigned)(out - beg);
                if (dist > op) {
                    op = dist - op;
                    if (op > whave) {
                        if (state->sane) {
                            strm->msg = (char *)"invalid distance too far back";
                            state->mode = BAD;
                            break;
                        }
                    }
                    from = window;
                    if (wnext == 0) {
                        from += wsize - op;
                        if (op < len) {
                            len -= op;
                            do {
                                *out++ = *from++;
                            } while (--op);
                            from = out - dist;
                        }
                    }
                    else if (wnext < op) {
                        from += wsize + wnext - op;
                        op -= wnext;
                        if (op < len) {
                            len -= op;
                            do {
                                *out++ = *from++;
                            } while (--op);
                            from = window;
                            if (wnext < len) {
                                op = wnext;
                                len -= op;
                                do {
                                    *out++ = *from++;
                                } while (--op);
                                from = out - dist;
                            }
                        }
                    }
                    else {
                        from += wnext - op;
                        if (op < len) {
                            len -= op;
                            do {
                                *out++ = *from++;
                            } while (--op);
                            from = out - dist;
                        }
                    }
                    while (len > 2) {
                        *out++ = *from++;
                        *out++ = *from++;
                        *out++ = *from++;
                        len -= 3;
                    }
                    if (len) {
                        *out++ = *from++;
                        if (len > 1)
                            *out++ = *from++;
                    }
                }
                else if (dist >= 8) {
                    /* Each 8-byte load ends at or before `out`: only bytes already written. */
                    unsigned char FAR *stop = out + len;
                    from = out - dist;
                    do {
                        __builtin_memcpy(out, from, 8);
                        out += 8;
                        from += 8;
                    } while (out < stop);
                    out = stop;
                }
                else {
                    from = out - dist;
                    do {
                        *out++ = *from++;
                        *out++ = *from++;
                        *out++ = *from++;
                        len -= 3;
                    } while (len > 2);
                    if (len) {
                        *out++ = *from++;
                        if (len > 1)
                            *out++ = *from++;
                    }
                }
            }
            else if ((op & 64) == 0) {
                here = dcode + here->val + ((unsigned)hold & ((1U << op) - 1));
                goto dodist;
            }
            else {
                strm->msg = (char *)"invalid distance code";
                state->mode = BAD;
                break;
            }
        }
        else if ((op & 64) == 0) {
            here = lcode + here->val + ((unsigned)hold & ((1U << op) - 1));
            goto dolen;
        }
        else if (op & 32) {
            state->mode = TYPE;
            break;
        }
        else {
            strm->msg = (char *)"invalid literal/length code";
            state->mode = BAD;
            break;
        }
    } while (in < last && out < end);

    /* Give back the whole bytes loaded and not used. */
    len = bits >> 3;
    in -= len;
    bits -= len << 3;
    hold &= (1ULL << bits) - 1;

    strm->next_in = in;
    strm->next_out = out;
    strm->avail_in = (unsigned)(last + IN_SLACK - in);
    strm->avail_out = (unsigned)(end + 258 + OUT_SLACK - out);
    state->hold = (unsigned long)hold;
    state->bits = bits;
}
