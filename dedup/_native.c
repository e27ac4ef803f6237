/* The compiled kernels of dedup in C, loaded with ctypes by dedup/_native.py.
 *
 * Each function is a line-by-line port of a kernel's Python specification, which numba compiles
 * when this file cannot be: ll_minhash of dedup/_kernels.py:_minhash_kernel_py, ll_gotoh_local of
 * dedup/_align_kernel.py:_gotoh_local_py, ll_seed and ll_count of dedup/containment.py's
 * _seed_kernel_py and _count_kernel_py. They give the same values bit for bit
 * (tests/dedup/test_native.py compares them on real data). Why C beside numba: a process that
 * calls a numba kernel first imports numba and loads its registries, about 0.35-0.45 s on every
 * call of `python -m dedup overlap`, which is most of a small check's time; this library loads in
 * about a millisecond. ctypes releases the GIL during a call, so threads run kernels in parallel
 * as with numba's nogil.
 *
 * Arrays are C-contiguous, of the dtypes dedup/_native.py checks; lengths are int64.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LL_API __attribute__((visibility("default")))

static inline uint64_t fmix64(uint64_t v) {
    v ^= v >> 33;
    v *= 0xFF51AFD7ED558CCDULL;
    v ^= v >> 33;
    v *= 0xC4CEB9FE1A85EC53ULL;
    v ^= v >> 33;
    return v;
}

static inline uint64_t low_mask(int64_t bits) {
    return bits >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << bits) - 1);
}

/* The k-mer values of one sequence, in order (dedup/shingle.py, step 2): protein 5 bits a residue;
 * DNA/RNA the smaller of the k-mer and its reverse complement, windows with an invalid base (code
 * 255) skipped; a sequence shorter than k as one value with the short bit, for DNA/RNA only when
 * every base is valid. The one definition that ll_minhash, ll_seed and ll_shingles hash. vals holds
 * at least max(length - k + 1, 1) values; returns how many were written. */
static int64_t shingle_values(const uint8_t *s, int64_t length, int64_t k, int protein, const uint8_t *codes,
                              uint64_t *vals) {
    const uint64_t mask = low_mask(protein ? 5 * k : 2 * k);
    const uint64_t top = (uint64_t)(2 * (k - 1));
    uint64_t fwd = 0, rev = 0;
    int64_t run = 0, m = 0;
    for (int64_t i = 0; i < length; i++) {
        const uint8_t c = codes[s[i]];
        if (protein) {
            fwd = ((fwd << 5) | (uint64_t)c) & mask;
        } else {
            if (c == 255) {
                run = 0;
                fwd = 0;
                rev = 0;
                continue;
            }
            const uint64_t cu = c;
            fwd = ((fwd << 2) | cu) & mask;
            rev = (rev >> 2) | ((3 - cu) << (length < k ? (uint64_t)(2 * (length - 1)) : top));
        }
        run += 1;
        if (run >= k) vals[m++] = protein ? fwd : (fwd < rev ? fwd : rev);
    }
    if (0 < length && length < k && run == length) /* short: one shingle, reverse complement packed to its length */
        vals[m++] = (protein ? fwd : (fwd < rev ? fwd : rev)) | ((uint64_t)1 << 63);
    return m;
}

static int64_t max_length(const int64_t *starts, int64_t n) {
    int64_t max_len = 1;
    for (int64_t i = 0; i < n; i++)
        if (starts[i + 1] - starts[i] > max_len) max_len = starts[i + 1] - starts[i];
    return max_len;
}

/* MinHash signatures (datasketch affine32 over fmix32 of the shingle hashes); returns 0, or -1 when
 * out of memory. out is n x num_perm. */
LL_API int ll_minhash(const uint8_t *buf, const int64_t *starts, int64_t n, const uint8_t *table,
                      int nucleotide, int64_t k, const uint32_t *a, const uint32_t *b, int64_t num_perm,
                      uint32_t *out) {
    const int64_t max_len = max_length(starts, n);
    uint64_t *vals = malloc(sizeof(uint64_t) * (size_t)max_len);
    uint32_t *hs = malloc(sizeof(uint32_t) * (size_t)max_len);
    if (!vals || !hs) {
        free(vals);
        free(hs);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        const int64_t nh = shingle_values(buf + starts[i], starts[i + 1] - starts[i], k, !nucleotide, table, vals);
        for (int64_t j = 0; j < nh; j++) hs[j] = (uint32_t)(fmix64(vals[j]) >> 32);
        for (int64_t j = 0; j < nh; j++) {
            uint32_t h = hs[j];
            h ^= h >> 16;
            h *= 0x85EBCA6BU;
            h ^= h >> 13;
            h *= 0xC2B2AE35U;
            h ^= h >> 16;
            hs[j] = h;
        }
        uint32_t *row = out + i * num_perm;
        for (int64_t p = 0; p < num_perm; p++) {
            const uint32_t ap = a[p], bp = b[p];
            uint32_t m = 0xFFFFFFFFU;
            for (int64_t j = 0; j < nh; j++) {
                const uint32_t x = ap * hs[j] + bp;
                if (x < m) m = x;
            }
            row[p] = m;
        }
    }
    free(vals);
    free(hs);
    return 0;
}

#define NEG (-(1 << 30))
enum { FROM_M = 0, FROM_IX = 1, FROM_IY = 2, START = 3 };

/* Local alignment (Gotoh), Biopython's first optimal alignment; see _gotoh_local_py for the
 * arguments. matrix is n_matrix x n_matrix, or n_matrix 0 for match/mismatch scoring; qbias holds
 * n_qbias (na, or 0 for none) scores added to every substitution of a query position. Returns 0,
 * or -1 when out of memory. */
LL_API int ll_gotoh_local(const int32_t *a, int64_t na, const int32_t *b, int64_t nb, const int32_t *ua,
                          const int32_t *ub, const int32_t *matrix, int64_t n_matrix, const int32_t *qbias,
                          int64_t n_qbias, int32_t match,
                          int32_t mismatch, int32_t go, int32_t ge, int8_t *ops, int64_t *result) {
    const int64_t w = nb + 1;
    const int32_t neg = NEG;
    const int64_t n_rows = n_matrix > 0 ? n_matrix : 1;
    uint8_t *trace = malloc((size_t)((na + 1) * w));
    int32_t *prof = malloc(sizeof(int32_t) * (size_t)(n_rows * w));
    int32_t *work = malloc(sizeof(int32_t) * (size_t)(9 * w));
    if (!trace || !prof || !work) {
        free(trace);
        free(prof);
        free(work);
        return -1;
    }
    int32_t *srow = work, *run = work + w, *ramp = work + 2 * w;
    int32_t *m_prev = work + 3 * w, *x_prev = work + 4 * w, *y_prev = work + 5 * w;
    int32_t *m_cur = work + 6 * w, *x_cur = work + 7 * w, *y_cur = work + 8 * w;
    if (n_matrix > 0) {
        for (int64_t c = 0; c < n_matrix; c++) {
            prof[c * w] = 0;
            for (int64_t j = 1; j < w; j++) prof[c * w + j] = matrix[c * n_matrix + b[j - 1]];
        }
    }
    for (int64_t j = 0; j < w; j++) {
        srow[j] = 0;
        ramp[j] = (int32_t)j * ge;
        m_prev[j] = 0;
        x_prev[j] = neg;
        y_prev[j] = neg;
        m_cur[j] = 0;
        x_cur[j] = neg;
        y_cur[j] = neg;
        trace[j] = START;
    }
    int64_t best = 0, best_i = 0, best_j = 0;
    for (int64_t i = 1; i <= na; i++) {
        const int32_t ai = a[i - 1];
        const int32_t bi = n_qbias > 0 ? qbias[i - 1] : 0;
        const int32_t *s_row;
        if (n_matrix > 0) {
            s_row = prof + (int64_t)ai * w;
        } else {
            for (int64_t j = 1; j < w; j++) srow[j] = ai == b[j - 1] ? match : mismatch;
            s_row = srow;
        }
        const int open_ok = i != na;
        uint8_t *tr = trace + i * w;
        tr[0] = START;
        m_cur[0] = 0;
        x_cur[0] = neg;
        y_cur[0] = neg;
        int32_t row_max = 0;
        for (int64_t j = 1; j < w; j++) {
            const int32_t dm = m_prev[j - 1], dx = x_prev[j - 1], dy = y_prev[j - 1];
            const int c1 = dm >= dx;
            int32_t v = c1 ? dm : dx;
            uint8_t frm = c1 ? FROM_M : FROM_IX;
            const int c2 = v >= dy;
            frm = c2 ? frm : FROM_IY;
            v = (c2 ? v : dy) + s_row[j] + bi;
            const int pos = v > 0;
            frm = pos ? frm : START;
            v = pos ? v : 0;
            m_cur[j] = v;
            row_max = v > row_max ? v : row_max;
            int32_t g = m_prev[j] - go;
            int32_t x = x_prev[j] - ge;
            const int c3 = g >= x;
            uint8_t gf = c3 ? FROM_M : FROM_IX;
            g = c3 ? g : x;
            x = y_prev[j] - go;
            const int c4 = g >= x;
            gf = c4 ? gf : FROM_IY;
            g = c4 ? g : x;
            g = (g > 0 && open_ok) ? g : neg;
            x_cur[j] = g;
            tr[j] = (uint8_t)(frm | (gf << 2));
        }
        x_cur[nb] = neg;
        run[0] = neg;
        for (int64_t j = 1; j < w; j++) {
            const int32_t e = (m_cur[j - 1] >= x_cur[j - 1] ? m_cur[j - 1] : x_cur[j - 1]) - go;
            run[j] = e + ramp[j];
        }
        int32_t top = neg;
        for (int64_t j = 1; j < w; j++) {
            top = run[j] > top ? run[j] : top;
            run[j] = top;
        }
        for (int64_t j = 1; j < w; j++) {
            const int32_t h = run[j] - ramp[j];
            y_cur[j] = (h > 0 && open_ok) ? h : neg;
            const int32_t dm = m_cur[j - 1], dx = x_cur[j - 1];
            const int c5 = dm >= dx;
            uint8_t hf = c5 ? FROM_M : FROM_IX;
            const int32_t e = (c5 ? dm : dx) - go;
            const int32_t u_left = run[j - 1] - ramp[j - 1];
            const int32_t h_left = (u_left > 0 && open_ok) ? u_left : neg;
            hf = e >= h_left - ge ? hf : FROM_IY;
            tr[j] |= (uint8_t)(hf << 4);
        }
        y_cur[0] = neg;
        y_cur[nb] = neg;
        if (row_max > best) {
            best = row_max;
            best_i = i;
            for (int64_t j = 1; j < w; j++) {
                if (m_cur[j] == row_max) {
                    best_j = j;
                    break;
                }
            }
        }
        int32_t *t;
        t = m_prev; m_prev = m_cur; m_cur = t;
        t = x_prev; x_prev = x_cur; x_cur = t;
        t = y_prev; y_prev = y_cur; y_cur = t;
    }
    result[0] = best;
    if (best != 0) {
        int64_t i = best_i, j = best_j, n = 0, same = 0;
        int mat = FROM_M;
        for (;;) {
            const uint8_t tb = trace[i * w + j];
            int frm;
            if (mat == FROM_M) {
                frm = tb & 3;
                if (frm == START) break;
                if (ua[i - 1] == ub[j - 1]) same += 1;
                ops[n] = 0;
                i -= 1;
                j -= 1;
            } else if (mat == FROM_IX) {
                frm = (tb >> 2) & 3;
                ops[n] = 1;
                i -= 1;
            } else {
                frm = (tb >> 4) & 3;
                ops[n] = 2;
                j -= 1;
            }
            n += 1;
            mat = frm;
        }
        for (int64_t lo = 0, hi = n - 1; lo < hi; lo++, hi--) {
            const int8_t tmp = ops[lo];
            ops[lo] = ops[hi];
            ops[hi] = tmp;
        }
        result[1] = i;
        result[2] = best_i;
        result[3] = j;
        result[4] = best_j;
        result[5] = same;
        result[6] = n;
    }
    free(trace);
    free(prof);
    free(work);
    return 0;
}

#define LL_LEN_BINS 64
#define LL_AHEAD 8

/* One pass of the seed table build over sequences: count (fill 0) or place (fill 1) each distinct
 * (sequence, bucket); see _seed_kernel_py. n_only 0: every bucket; else only is a bitset of n_only
 * words and the per-bucket arrays are indexed by rank (rank_base plus a popcount). Returns 0, or -1
 * when out of memory. */
LL_API int ll_seed(const uint8_t *buf, const int64_t *starts, int64_t n, int64_t k, int protein,
                   const uint8_t *codes, int64_t bits, int32_t *last, int32_t *counts, int32_t *postings,
                   int64_t *cursor, int fill, int64_t first, const uint64_t *only, int64_t n_only,
                   const int64_t *rank_base) {
    const uint64_t shift = (uint64_t)(64 - bits);
    uint64_t *vals = malloc(sizeof(uint64_t) * (size_t)max_length(starts, n));
    if (!vals) return -1;
    for (int64_t s = 0; s < n; s++) {
        const int64_t seq_no = first + s;
        const int64_t m0 = shingle_values(buf + starts[s], starts[s + 1] - starts[s], k, protein, codes, vals);
        int64_t m = 0; /* first the sequence's buckets (their ranks), in place, then the random accesses */
        for (int64_t i = 0; i < m0; i++) {
            uint64_t bk = fmix64(vals[i]) >> shift;
            if (n_only > 0) {
                const uint64_t word = only[bk >> 6];
                const uint64_t bit = bk & 63;
                if (!((word >> bit) & 1)) continue;
                const uint64_t below = word & ((((uint64_t)1) << bit) - 1);
                bk = (uint64_t)rank_base[bk >> 6] + (uint64_t)__builtin_popcountll(below);
            }
            vals[m++] = bk;
        }
        for (int64_t i = 0; i < m; i++) {
            const uint64_t bk = vals[i];
            if (i + LL_AHEAD < m) { /* a cache miss away: ask for the bucket's entries LL_AHEAD k-mers on now */
                __builtin_prefetch(last + vals[i + LL_AHEAD]);
                __builtin_prefetch(fill ? (const void *)(cursor + vals[i + LL_AHEAD]) : (const void *)(counts + vals[i + LL_AHEAD]));
            }
            if (last[bk] == seq_no) continue;
            last[bk] = (int32_t)seq_no;
            if (fill) {
                postings[cursor[bk]] = (int32_t)seq_no;
                cursor[bk] += 1;
            } else {
                counts[bk] += 1;
            }
        }
    }
    free(vals);
    return 0;
}

static int cmp_i64(const void *x, const void *y) {
    const int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* Per query: count shared buckets per reference, keep the best cap at >= need; see _count_kernel_py
 * (buckets shortest first; once a new reference could no longer reach need, only the references met
 * so far are counted, by binary search or by a scan, and those that cannot reach need are dropped).
 * out_refs and out_counts are n_queries x cap. Returns 0, or -1 when out of memory. */
LL_API int ll_count(const int64_t *q_bounds, int64_t n_queries, const int64_t *starts, const int64_t *lens,
                    const int32_t *postings, const double *need, int64_t n_refs, int32_t *cnt,
                    int64_t *touched, int64_t *passing, int64_t *out_refs, int64_t *out_counts,
                    int64_t *out_pass, int64_t cap) {
    int64_t max_b = 1;
    for (int64_t q = 0; q < n_queries; q++)
        if (q_bounds[q + 1] - q_bounds[q] > max_b) max_b = q_bounds[q + 1] - q_bounds[q];
    const size_t n_scratch = (size_t)(n_refs > 0 ? n_refs : 1);
    int64_t *keys = malloc(sizeof(int64_t) * n_scratch);
    int64_t *alive = malloc(sizeof(int64_t) * n_scratch);
    int64_t *order = malloc(sizeof(int64_t) * (size_t)max_b);
    if (!keys || !alive || !order) {
        free(keys);
        free(alive);
        free(order);
        return -1;
    }
    for (int64_t q = 0; q < n_queries; q++) {
        const int64_t lo = q_bounds[q], n_b = q_bounds[q + 1] - lo;
        /* The buckets by length, stable, lengths from LL_LEN_BINS - 1 up in one bin: a counting sort. */
        int64_t bin[LL_LEN_BINS + 1] = {0};
        for (int64_t i = 0; i < n_b; i++) bin[1 + (lens[lo + i] < LL_LEN_BINS - 1 ? lens[lo + i] : LL_LEN_BINS - 1)]++;
        for (int64_t b = 1; b <= LL_LEN_BINS; b++) bin[b] += bin[b - 1];
        for (int64_t i = 0; i < n_b; i++) order[bin[lens[lo + i] < LL_LEN_BINS - 1 ? lens[lo + i] : LL_LEN_BINS - 1]++] = lo + i;
        int64_t nt = 0, n_alive = -1; /* -1: still counting every reference met */
        for (int64_t i = 0; i < n_b; i++) {
            const int64_t j = order[i];
            const int32_t *p = postings + starts[j];
            /* a posting list is a cache miss away: ask for the one LL_AHEAD buckets on now */
            if (i + LL_AHEAD < n_b) __builtin_prefetch(postings + starts[order[i + LL_AHEAD]]);
            const int64_t length = lens[j], left = n_b - i;
            if (n_alive < 0 && (double)left + 1e-9 < need[q]) {
                n_alive = nt;
                memcpy(alive, touched, sizeof(int64_t) * (size_t)nt);
            }
            if (n_alive < 0) {
                for (int64_t t = 0; t < length; t++) {
                    const int64_t r = p[t];
                    if (cnt[r] == 0) touched[nt++] = r;
                    cnt[r] += 1;
                }
                continue;
            }
            int64_t kept = 0;
            for (int64_t t = 0; t < n_alive; t++) {
                const int64_t r = alive[t];
                if ((double)cnt[r] + (double)left + 1e-9 >= need[q]) alive[kept++] = r;
            }
            n_alive = kept;
            if (n_alive == 0) break;
            if (length == 0) continue;
            int64_t steps = 1;
            while (((int64_t)1 << steps) < length) steps++;
            if (n_alive * (steps + 1) < length) {
                for (int64_t t = 0; t < n_alive; t++) {
                    const int64_t r = alive[t];
                    int64_t x = 0, y = length;
                    while (x < y) {
                        const int64_t m = (x + y) >> 1;
                        if (p[m] < r)
                            x = m + 1;
                        else
                            y = m;
                    }
                    if (x < length && p[x] == r) cnt[r] += 1;
                }
            } else {
                for (int64_t t = 0; t < length; t++) {
                    const int64_t r = p[t];
                    if (cnt[r] > 0) cnt[r] += 1;
                }
            }
        }
        int64_t npass = 0;
        for (int64_t i = 0; i < nt; i++) {
            const int64_t r = touched[i];
            if ((double)cnt[r] + 1e-9 >= need[q]) passing[npass++] = r;
        }
        out_pass[q] = npass;
        for (int64_t i = 0; i < npass; i++) keys[i] = -(int64_t)cnt[passing[i]] * n_refs + passing[i];
        qsort(keys, (size_t)npass, sizeof(int64_t), cmp_i64);
        const int64_t m = npass < cap ? npass : cap;
        for (int64_t i = 0; i < m; i++) {
            const int64_t r = ((keys[i] % n_refs) + n_refs) % n_refs;
            out_refs[q * cap + i] = r;
            out_counts[q * cap + i] = cnt[r];
        }
        for (int64_t i = 0; i < nt; i++) cnt[touched[i]] = 0;
    }
    free(keys);
    free(alive);
    free(order);
    return 0;
}

static int cmp_u64(const void *x, const void *y) {
    const uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* The k-mer hashes of dedup/bounds.py (Prepared.get_kmers): h = h * 0x100000001B3 + code, mod 2**64. */
static void kmers_of(const int32_t *c, int64_t n, int64_t k, uint64_t *out) {
    for (int64_t i = 0; i + k <= n; i++) {
        uint64_t h = 0;
        for (int64_t j = 0; j < k; j++) h = h * 0x100000001B3ULL + (uint64_t)(int64_t)c[i + j];
        out[i] = h;
    }
}

/* The n - k + 1 k-mer hashes of codes c (n >= k), sorted, with their repeats, in a new array; NULL
 * when out of memory. */
static uint64_t *sorted_kmers(const int32_t *c, int64_t n, int64_t k) {
    uint64_t *out = malloc(sizeof(uint64_t) * (size_t)(n - k + 1));
    if (!out) return NULL;
    kmers_of(c, n, k, out);
    qsort(out, (size_t)(n - k + 1), sizeof(uint64_t), cmp_u64);
    return out;
}

/* The bounds of dedup/bounds.py (Bounds.passes with no reverse complement) for n_pairs pairs of the
 * n_seqs sequences whose int32 codes are codes[offsets[s]:offsets[s + 1]]: verdict 0 (may pass),
 * 1 (pruned by length), 2 (by composition), 3 (by the q-gram bound), or -1 where a sequence has a
 * code outside 0-127 (the caller decides those pairs). Per-sequence histograms, each reference's
 * sorted distinct k-mers and each query's sorted k-mers are computed once. Returns 0, or -1 when out of memory. */
LL_API int ll_screen(const int32_t *codes, const int64_t *offsets, int64_t n_seqs, const int64_t *q_idx,
                     const int64_t *r_idx, int64_t n_pairs, double identity, double coverage,
                     double reference_coverage, int64_t k, int8_t *verdict) {
    const double eps = 1e-9;
    int32_t *hist = calloc((size_t)(n_seqs > 0 ? n_seqs : 1) * 128, sizeof(int32_t));
    int8_t *state = calloc((size_t)(n_seqs > 0 ? n_seqs : 1), 1); /* 0 not done, 1 small codes, 2 other */
    uint64_t **sets = calloc((size_t)(n_seqs > 0 ? n_seqs : 1), sizeof(uint64_t *));
    uint64_t **qsorted = calloc((size_t)(n_seqs > 0 ? n_seqs : 1), sizeof(uint64_t *));
    int64_t *set_len = calloc((size_t)(n_seqs > 0 ? n_seqs : 1), sizeof(int64_t));
    int rc = 0;
    if (!hist || !state || !sets || !qsorted || !set_len) {
        rc = -1;
        goto done;
    }
    const double t = identity;
    const double coef = 1.0 - (double)k * (1.0 - t) / t;
    for (int64_t p = 0; p < n_pairs; p++) {
        const int64_t qs = q_idx[p], rs = r_idx[p];
        const int64_t q = offsets[qs + 1] - offsets[qs], r = offsets[rs + 1] - offsets[rs];
        if (q == 0 || r == 0) {
            verdict[p] = 1;
            continue;
        }
        const double a = coverage * (double)q, b = reference_coverage * (double)r;
        const double need = identity * (a > b ? a : b);
        if ((double)(q < r ? q : r) + eps < need) {
            verdict[p] = 1;
            continue;
        }
        const int64_t both[2] = {qs, rs};
        for (int x = 0; x < 2; x++) {
            const int64_t s = both[x];
            if (state[s]) continue;
            const int32_t *c = codes + offsets[s];
            int small = 1;
            for (int64_t i = 0; i < offsets[s + 1] - offsets[s]; i++) {
                if (c[i] < 0 || c[i] >= 128) {
                    small = 0;
                    break;
                }
                hist[s * 128 + c[i]] += 1;
            }
            state[s] = small ? 1 : 2;
        }
        if (state[qs] != 1 || state[rs] != 1) {
            verdict[p] = -1;
            continue;
        }
        if (need > 0) {
            int64_t common = 0;
            const int32_t *hq = hist + qs * 128, *hr = hist + rs * 128;
            for (int c = 0; c < 128; c++) common += hq[c] < hr[c] ? hq[c] : hr[c];
            if ((double)common + eps < need) {
                verdict[p] = 2;
                continue;
            }
        }
        verdict[p] = 0;
        if (t > 0) {
            const double need_kmers = coverage * (double)q * coef - (double)k + 1.0;
            if (coef > 0 && need_kmers > 0) {
                int64_t shared = 0;
                if (!sets[rs] && r >= k) {
                    const int64_t nk = r - k + 1;
                    uint64_t *set = sorted_kmers(codes + offsets[rs], r, k);
                    if (!set) {
                        rc = -1;
                        goto done;
                    }
                    int64_t m = 0;
                    for (int64_t i = 0; i < nk; i++)
                        if (m == 0 || set[i] != set[m - 1]) set[m++] = set[i];
                    sets[rs] = set;
                    set_len[rs] = m;
                }
                if (sets[rs] && q >= k) {
                    const int64_t nq = q - k + 1, m = set_len[rs];
                    if (!qsorted[qs]) { /* the query's k-mers, sorted with their repeats, once */
                        qsorted[qs] = sorted_kmers(codes + offsets[qs], q, k);
                        if (!qsorted[qs]) {
                            rc = -1;
                            goto done;
                        }
                    }
                    /* query positions whose k-mer the reference holds: a merge of the two sorted lists */
                    const uint64_t *set = sets[rs], *qk = qsorted[qs];
                    int64_t i = 0, j = 0;
                    while (i < nq && j < m) {
                        if (qk[i] < set[j])
                            i++;
                        else if (qk[i] > set[j])
                            j++;
                        else {
                            shared++;
                            i++;
                        }
                    }
                }
                if ((double)shared < need_kmers) verdict[p] = 3;
            }
        }
    }
done:
    for (int64_t s = 0; s < n_seqs; s++) {
        if (sets) free(sets[s]);
        if (qsorted) free(qsorted[s]);
    }
    free(sets);
    free(qsorted);
    free(set_len);
    free(hist);
    free(state);
    return rc;
}

/* The 64-bit shingle hashes of dedup/shingle.py (batch_shingle_hashes64) for protein and DNA/RNA:
 * fmix64 of each value of shingle_values, sequence by sequence. out holds at least starts[n] + n
 * values; offsets gets n + 1 entries. Returns the number of hashes written. */
LL_API int64_t ll_shingles(const uint8_t *buf, const int64_t *starts, int64_t n, int64_t k, int protein,
                           const uint8_t *codes, uint64_t *out, int64_t *offsets) {
    int64_t m = 0;
    offsets[0] = 0;
    for (int64_t s = 0; s < n; s++) {
        const int64_t c = shingle_values(buf + starts[s], starts[s + 1] - starts[s], k, protein, codes, out + m);
        for (int64_t i = m; i < m + c; i++) out[i] = fmix64(out[i]);
        m += c;
        offsets[s + 1] = m;
    }
    return m;
}
