/* SHA-256 and HMAC-SHA-256 for fastsession._signing_c (src_c/_signing_c.pyx).
 *
 * Self-contained, so that wheels need no OpenSSL. Sources:
 * - SHA-256: FIPS 180-4 (Secure Hash Standard, 2015), section 4.1.2 (the functions
 *   Ch, Maj, Sigma0/1, sigma0/1), 4.2.2 (the constants K), 5.1.1 and 5.3.3 (padding,
 *   initial value), 6.2.2 (the message schedule and the 64 rounds).
 * - HMAC: RFC 2104 / FIPS 198-1, with the ipad (0x36) and opad (0x5c) blocks.
 * - The SHA-NI compression, in src_c/_sha256_ni.h (included below): the Intel SHA
 *   Extensions (Gulley et al., Intel, 2013) through the compiler intrinsics
 *   _mm_sha256rnds2_epu32, _mm_sha256msg1_epu32 and _mm_sha256msg2_epu32 (with
 *   SSSE3 and SSE4.1 ones); CPUID leaf 7 EBX bit 29 says whether the CPU has them.
 *
 * The functions:
 *   fs_sha256_compress_portable  one 64-byte block into the state, plain C
 *   fs_sha256_compress_shani     the same with the SHA extensions (x86-64 only;
 *                                _sha256_ni.h)
 *   fs_sha256_accelerated        the SHA-NI compression if this CPU runs it, else NULL
 *                                (_sha256_ni.h)
 *   fs_sha256_start / _update / _finish   streaming hash over either compression
 *   fs_sha256_update_ucs         feeds a PEP 393 string as UTF-8 (lone surrogates
 *                                as U+FFFD, as Node's Buffer.from does)
 *   fs_hmac_prepare              a key's HMAC states after the ipad and opad blocks
 *   fs_hmac_ucs                  HMAC of a string (or of raw bytes, ascii=1, kind=1)
 *                                from prepared states: two compressions when short
 *   fs_b64_mac                   a 32-byte MAC as 43 characters of unpadded base64
 *   fs_secure_zero               a wipe the optimiser cannot remove
 *
 * Invariants:
 * - Both compressions compute the same function; the caller picks one at import
 *   (FASTSESSION_SHA256_PORTABLE=1 forces the portable one) and passes it down, so
 *   tests/test_sha256.py can run the NIST and RFC 4231 vectors on each.
 * - An fs_hmac_key is as good as the key: whoever holds it can sign. Every
 *   temporary that holds key material (the padded key blocks, the hash of a long
 *   key, a key prepared on the stack) is wiped with fs_secure_zero before it goes
 *   out of scope; the Signer wipes its keys when it is freed.
 * - Nothing here allocates, fails or touches Python objects: safe without the GIL.
 */
#ifndef FASTSESSION_SHA256_H
#define FASTSESSION_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- wiping secrets ----------------------------------------------------- */

#if defined(_WIN32)
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#  ifndef NOMINMAX
#    define NOMINMAX
#  endif
#  include <windows.h>
#  define FS_WIPE(p, n) SecureZeroMemory((p), (n))
#elif defined(__OpenBSD__) || defined(__FreeBSD__)
#  define FS_WIPE(p, n) explicit_bzero((p), (n))
#endif
/* Not glibc's explicit_bzero: it needs GLIBC_2.25, and a wheel built where it
 * exists would no longer run on manylinux2014's glibc 2.17. */

#ifndef FS_WIPE
/* A memset called through a volatile pointer: the compiler cannot know what it
 * calls, so it cannot prove the store dead and drop it. */
static void *(*const volatile fs_memset_v)(void *, int, size_t) = memset;
#  define FS_WIPE(p, n) ((void)fs_memset_v((p), 0, (n)))
#endif

static void fs_secure_zero(void *p, size_t n)
{
    FS_WIPE(p, n);
#if defined(__GNUC__) || defined(__clang__)
    /* And a barrier: the memory counts as read afterwards. */
    __asm__ __volatile__("" : : "r"(p) : "memory");
#endif
}

typedef void (*fs_compress_fn)(uint32_t state[8], const uint8_t block[64]);

static const uint32_t fs_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static const uint32_t fs_sha256_iv[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* ---- portable compression ---------------------------------------------- */

#define FS_ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define FS_CH(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define FS_MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))
#define FS_S0(x) (FS_ROR(x, 2) ^ FS_ROR(x, 13) ^ FS_ROR(x, 22))
#define FS_S1(x) (FS_ROR(x, 6) ^ FS_ROR(x, 11) ^ FS_ROR(x, 25))
#define FS_s0(x) (FS_ROR(x, 7) ^ FS_ROR(x, 18) ^ ((x) >> 3))
#define FS_s1(x) (FS_ROR(x, 17) ^ FS_ROR(x, 19) ^ ((x) >> 10))
#define FS_ROUND(a, b, c, d, e, f, g, h, i)                                     \
    do {                                                                        \
        uint32_t t1_ = h + FS_S1(e) + FS_CH(e, f, g) + fs_sha256_k[i] + w[i];   \
        d += t1_;                                                               \
        h = t1_ + FS_S0(a) + FS_MAJ(a, b, c);                                   \
    } while (0)

static void fs_sha256_compress_portable(uint32_t s[8], const uint8_t p[64])
{
    uint32_t w[64];
    uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
    int i;
    for (i = 0; i < 16; i++)
        w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) |
               ((uint32_t)p[4 * i + 2] << 8) | (uint32_t)p[4 * i + 3];
    for (i = 16; i < 64; i++)
        w[i] = w[i - 16] + FS_s0(w[i - 15]) + w[i - 7] + FS_s1(w[i - 2]);
    for (i = 0; i < 64; i += 8) {
        FS_ROUND(a, b, c, d, e, f, g, h, i);
        FS_ROUND(h, a, b, c, d, e, f, g, i + 1);
        FS_ROUND(g, h, a, b, c, d, e, f, i + 2);
        FS_ROUND(f, g, h, a, b, c, d, e, i + 3);
        FS_ROUND(e, f, g, h, a, b, c, d, i + 4);
        FS_ROUND(d, e, f, g, h, a, b, c, i + 5);
        FS_ROUND(c, d, e, f, g, h, a, b, i + 6);
        FS_ROUND(b, c, d, e, f, g, h, a, i + 7);
    }
    s[0] += a; s[1] += b; s[2] += c; s[3] += d;
    s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

/* ---- SHA-NI compression (x86-64): _sha256_ni.h ------------------------- */

#include "_sha256_ni.h"

/* ---- streaming hash ----------------------------------------------------- */

typedef struct {
    uint32_t h[8];
    uint64_t total;   /* bytes hashed, including the buffered ones */
    size_t used;      /* bytes in buf */
    uint8_t buf[64];
    fs_compress_fn compress;
} fs_sha256_ctx;

static void fs_sha256_start(fs_sha256_ctx *c, const uint32_t h[8], uint64_t done, fs_compress_fn fn)
{
    memcpy(c->h, h, sizeof(c->h));
    c->total = done;
    c->used = 0;
    c->compress = fn;
}

static void fs_sha256_update(fs_sha256_ctx *c, const uint8_t *p, size_t n)
{
    c->total += n;
    if (c->used) {
        size_t take = 64 - c->used;
        if (take > n) take = n;
        memcpy(c->buf + c->used, p, take);
        c->used += take;
        p += take;
        n -= take;
        if (c->used < 64) return;
        c->compress(c->h, c->buf);
        c->used = 0;
    }
    while (n >= 64) {
        c->compress(c->h, p);
        p += 64;
        n -= 64;
    }
    if (n) {
        memcpy(c->buf, p, n);
        c->used = n;
    }
}

static void fs_sha256_finish(fs_sha256_ctx *c, uint8_t out[32])
{
    uint64_t bits = c->total * 8;
    int i;
    c->buf[c->used++] = 0x80;
    if (c->used > 56) {
        memset(c->buf + c->used, 0, 64 - c->used);
        c->compress(c->h, c->buf);
        c->used = 0;
    }
    memset(c->buf + c->used, 0, 56 - c->used);
    for (i = 0; i < 8; i++) c->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    c->compress(c->h, c->buf);
    for (i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
}

/* Feed the UTF-8 encoding of a PEP 393 string (kind 1, 2 or 4) to the hash.
 * Surrogate code points become U+FFFD (EF BF BD), as Node encodes lone ones. */
static void fs_sha256_update_ucs(fs_sha256_ctx *c, int kind, const void *data, size_t n, int ascii)
{
    uint8_t tmp[256];
    size_t used = 0, i;
    if (ascii) {
        fs_sha256_update(c, (const uint8_t *)data, n);
        return;
    }
    for (i = 0; i < n; i++) {
        uint32_t cp = kind == 1 ? ((const uint8_t *)data)[i]
                    : kind == 2 ? ((const uint16_t *)data)[i]
                                : ((const uint32_t *)data)[i];
        if (used > sizeof(tmp) - 4) {
            fs_sha256_update(c, tmp, used);
            used = 0;
        }
        if (cp < 0x80) {
            tmp[used++] = (uint8_t)cp;
        } else if (cp < 0x800) {
            tmp[used++] = (uint8_t)(0xC0 | (cp >> 6));
            tmp[used++] = (uint8_t)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
            tmp[used++] = (uint8_t)(0xE0 | (cp >> 12));
            tmp[used++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            tmp[used++] = (uint8_t)(0x80 | (cp & 0x3F));
        } else {
            tmp[used++] = (uint8_t)(0xF0 | (cp >> 18));
            tmp[used++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
            tmp[used++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            tmp[used++] = (uint8_t)(0x80 | (cp & 0x3F));
        }
    }
    if (used) fs_sha256_update(c, tmp, used);
}

/* ---- HMAC with prepared keys -------------------------------------------- */

typedef struct {
    uint32_t inner[8];   /* state after compressing key ^ ipad */
    uint32_t outer[8];   /* state after compressing key ^ opad */
} fs_hmac_key;

static void fs_hmac_prepare(fs_hmac_key *k, const uint8_t *key, size_t n, fs_compress_fn fn)
{
    uint8_t block[64];
    fs_sha256_ctx c;
    size_t i;
    memset(block, 0, sizeof(block));
    if (n > 64) {
        fs_sha256_start(&c, fs_sha256_iv, 0, fn);
        fs_sha256_update(&c, key, n);
        fs_sha256_finish(&c, block);
    } else if (n) {
        memcpy(block, key, n);
    }
    for (i = 0; i < 64; i++) block[i] ^= 0x36;
    memcpy(k->inner, fs_sha256_iv, sizeof(k->inner));
    fn(k->inner, block);
    for (i = 0; i < 64; i++) block[i] ^= 0x36 ^ 0x5c;
    memcpy(k->outer, fs_sha256_iv, sizeof(k->outer));
    fn(k->outer, block);
    fs_secure_zero(block, sizeof(block));
    if (n > 64) fs_secure_zero(&c, sizeof(c));
}

static void fs_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* out = HMAC-SHA256(key, utf8(string)) */
static void fs_hmac_ucs(const fs_hmac_key *k, int kind, const void *data, size_t n, int ascii,
                        uint8_t out[32], fs_compress_fn fn)
{
    fs_sha256_ctx c;
    uint8_t digest[32];
    if (ascii && n <= 55) {
        /* The common case (a session id): one block for the inner hash, one for
         * the outer, built in place without the streaming buffer. */
        uint8_t block[64];
        uint32_t h[8];
        uint64_t bits = (64 + (uint64_t)n) * 8;
        int i;
        memcpy(block, data, n);
        block[n] = 0x80;
        memset(block + n + 1, 0, 55 - n);
        fs_put_be32(block + 56, (uint32_t)(bits >> 32));
        fs_put_be32(block + 60, (uint32_t)bits);
        memcpy(h, k->inner, sizeof(h));
        fn(h, block);
        for (i = 0; i < 8; i++) fs_put_be32(block + 4 * i, h[i]);
        block[32] = 0x80;
        memset(block + 33, 0, 29);
        block[62] = 0x03; /* (64 + 32) * 8 = 768 bits */
        block[63] = 0x00;
        memcpy(h, k->outer, sizeof(h));
        fn(h, block);
        for (i = 0; i < 8; i++) fs_put_be32(out + 4 * i, h[i]);
        return;
    }
    fs_sha256_start(&c, k->inner, 64, fn);
    fs_sha256_update_ucs(&c, kind, data, n, ascii);
    fs_sha256_finish(&c, digest);
    fs_sha256_start(&c, k->outer, 64, fn);
    fs_sha256_update(&c, digest, 32);
    fs_sha256_finish(&c, out);
}

/* The 43 characters of base64 (standard alphabet) of a 32-byte MAC, no padding. */
static void fs_b64_mac(const uint8_t mac[32], uint8_t out[43])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int i, o = 0;
    for (i = 0; i < 30; i += 3) {
        uint32_t v = ((uint32_t)mac[i] << 16) | ((uint32_t)mac[i + 1] << 8) | mac[i + 2];
        out[o++] = (uint8_t)alphabet[v >> 18];
        out[o++] = (uint8_t)alphabet[(v >> 12) & 63];
        out[o++] = (uint8_t)alphabet[(v >> 6) & 63];
        out[o++] = (uint8_t)alphabet[v & 63];
    }
    {
        uint32_t v = ((uint32_t)mac[30] << 16) | ((uint32_t)mac[31] << 8);
        out[o++] = (uint8_t)alphabet[v >> 18];
        out[o++] = (uint8_t)alphabet[(v >> 12) & 63];
        out[o++] = (uint8_t)alphabet[(v >> 6) & 63];
    }
}

#endif /* FASTSESSION_SHA256_H */
