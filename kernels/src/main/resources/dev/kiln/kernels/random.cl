// Counter-based random numbers: Philox4x32-10 exactly as dev.kiln.random.Philox computes it, so a seed gives
// the same numbers on every backend. Element i of the output (row-major) uses counter offset + i under key
// seed; the output slot is D (any dtype), distributions are DIST_* from dev.kiln.backend.Distribution.

INLINE uint2 philox_words01(ulong seed, ulong counter) {
    uint c0 = (uint) counter, c1 = (uint) (counter >> 32), c2 = 0, c3 = 0;
    uint k0 = (uint) seed, k1 = (uint) (seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint hi0 = mul_hi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        uint hi1 = mul_hi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        uint n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return MAKE_UINT2(c0, c1);
}

// (w >> 8) * 2^-24: a uniform on [0, 1) with 24 random bits, exact in float and double.
INLINE wide_float unit_interval(uint w) { return (wide_float) (w >> 8) * (wide_float) (1.0f / 16777216.0f); }

__kernel void CAT2(random, DN)(int dist, wide_float a, wide_float b, long int_low, long int_span,
                               ulong seed, ulong offset, int rank, long8 shape, long n,
                               __global D* out, long8 out_strides, long out_offset) {
    FOR_EACH_INDEX(i, n) {
        uint2 w = philox_words01(seed, offset + i);
        __global D* dst = out + out_offset + strided_offset(i, rank, shape, out_strides);
        switch (dist) {
            case DIST_UNIFORM: STORE_D(dst, FLOAT_TO_D(a + (b - a) * unit_interval(w.x))); break;
            case DIST_BERNOULLI: STORE_D(dst, INT_TO_D(unit_interval(w.x) < a ? 1 : 0)); break;
            case DIST_INTEGER: STORE_D(dst, INT_TO_D(int_low + (long) (((ulong) w.x * (ulong) int_span) >> 32))); break;
            default: {
                wide_float u1 = ((wide_float) (w.x >> 8) + 1) * (wide_float) (1.0f / 16777216.0f);
                wide_float u2 = unit_interval(w.y);
                STORE_D(dst, FLOAT_TO_D(a + b * sqrt(-2 * log(u1)) * cos(2 * (wide_float) M_PI * u2)));
            }
        }
    }
}
