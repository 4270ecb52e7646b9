/* The SHA-NI compression of SHA-256, for src_c/_sha256.h (which includes it, once,
 * after the constants fs_sha256_k and the type fs_compress_fn it uses).
 *
 * Sources:
 * - The function computed: FIPS 180-4 (Secure Hash Standard, 2015), section 6.2.2
 *   (the message schedule and the 64 rounds), as fs_sha256_compress_portable does.
 * - The instructions: the Intel SHA Extensions (Gulley et al., Intel, 2013) through
 *   the compiler intrinsics _mm_sha256rnds2_epu32 (two rounds),
 *   _mm_sha256msg1_epu32 and _mm_sha256msg2_epu32 (the message schedule), with
 *   SSSE3 _mm_shuffle_epi8 (byte order) and SSE4.1 _mm_blend_epi16; CPUID leaf 7
 *   EBX bit 29 says whether the CPU has them (leaf 1 ECX bits 19 and 9: SSE4.1,
 *   SSSE3).
 *
 * The functions (x86-64 with GCC, Clang or MSVC; FS_HAVE_SHANI is 0 elsewhere):
 *   fs_sha256_compress_shani     one 64-byte block into the state
 *   fs_cpu_has_shani             whether this CPU runs it
 *   fs_sha256_accelerated        the SHA-NI compression if this CPU runs it, else NULL
 *
 * The caller picks a compression at import (FASTSESSION_SHA256_PORTABLE=1 forces the
 * portable one) and passes it to the hash and HMAC (RFC 2104) of _sha256.h; both
 * compressions compute the same function (tests/test_sha256.py runs the NIST and
 * RFC 4231 vectors on each). Key material reaches this file only as the block
 * being compressed, which the callers in _sha256.h wipe. Nothing here allocates,
 * fails or touches Python objects: safe without the GIL.
 */
#ifndef FASTSESSION_SHA256_NI_H
#define FASTSESSION_SHA256_NI_H

#ifndef FASTSESSION_SHA256_H
#  error "include _sha256.h, which includes this header after what it needs"
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#  define FS_HAVE_SHANI 1
#  include <cpuid.h>
#  include <immintrin.h>
#  define FS_SHANI_TARGET __attribute__((target("sha,sse4.1,ssse3")))
#elif defined(_M_X64) && defined(_MSC_VER)
#  define FS_HAVE_SHANI 1
#  include <intrin.h>
#  include <immintrin.h>
#  define FS_SHANI_TARGET
#else
#  define FS_HAVE_SHANI 0
#endif

#if FS_HAVE_SHANI
FS_SHANI_TARGET
static void fs_sha256_compress_shani(uint32_t state[8], const uint8_t data[64])
{
    __m128i st0, st1, msg, tmp, abef, cdgh, m[4];
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    int i;

    /* state is ABCD EFGH; the instructions want ABEF and CDGH */
    tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1);
    st1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B);
    st0 = _mm_alignr_epi8(tmp, st1, 8);
    st1 = _mm_blend_epi16(st1, tmp, 0xF0);
    abef = st0;
    cdgh = st1;

    for (i = 0; i < 4; i++)
        m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * i)), bswap);

    for (i = 0; i < 16; i++) {
        const int j = i & 3;
        msg = _mm_add_epi32(m[j], _mm_loadu_si128((const __m128i *)&fs_sha256_k[4 * i]));
        st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
        st0 = _mm_sha256rnds2_epu32(st0, st1, _mm_shuffle_epi32(msg, 0x0E));
        if (i < 12) {
            /* W[4i+16 .. 4i+19] replaces W[4i .. 4i+3] */
            tmp = _mm_add_epi32(_mm_sha256msg1_epu32(m[j], m[(j + 1) & 3]),
                                _mm_alignr_epi8(m[(j + 3) & 3], m[(j + 2) & 3], 4));
            m[j] = _mm_sha256msg2_epu32(tmp, m[(j + 3) & 3]);
        }
    }

    st0 = _mm_add_epi32(st0, abef);
    st1 = _mm_add_epi32(st1, cdgh);
    tmp = _mm_shuffle_epi32(st0, 0x1B);
    st1 = _mm_shuffle_epi32(st1, 0xB1);
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(tmp, st1, 0xF0));
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(st1, tmp, 8));
}

static int fs_cpu_has_shani(void)
{
#  if defined(_MSC_VER)
    int r[4];
    __cpuid(r, 0);
    if (r[0] < 7) return 0;
    __cpuid(r, 1);
    if (!(r[2] & (1 << 19)) || !(r[2] & (1 << 9))) return 0; /* SSE4.1, SSSE3 */
    __cpuidex(r, 7, 0);
    return (r[1] >> 29) & 1;
#  else
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 19)) || !(c & (1u << 9))) return 0; /* SSE4.1, SSSE3 */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 29) & 1;
#  endif
}
#endif

/* The fastest compression this CPU runs; NULL when only the portable one exists. */
static fs_compress_fn fs_sha256_accelerated(void)
{
#if FS_HAVE_SHANI
    if (fs_cpu_has_shani()) return fs_sha256_compress_shani;
#endif
    return NULL;
}

#endif /* FASTSESSION_SHA256_NI_H */
