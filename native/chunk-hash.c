// SHA-512/256 of many chunks at once, eight at a time in the 64-bit lanes of AVX-512 registers
// ("multi-buffer" hashing). An import's chunk worker hashes a batch of up to 32 chunks; one
// SHA-512 is a serial chain of 80 rounds per 128-byte block, and OpenSSL's AVX2 code runs that
// chain for one message at about 610 MB/s here. Eight independent messages fill the vector
// lanes instead, and AVX-512's rotates (vprorq) and three-input logic (vpternlogq) do a round's
// Σ, Ch and Maj in one instruction each. FIPS 180-4 §6.4 (SHA-512), §5.3.6.2 (the 512/256 IV).
// Without AVX-512 the addon exports nothing and the workers hash with node:crypto, one by one.
// test/unit/store/chunk-hash.test.ts checks every length class against node:crypto.
#include <node_api.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <immintrin.h>

#define LANES 8
#define BLOCK 128

static const uint64_t K[80] = {
  0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL,
  0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL,
  0xd807aa98a3030242ULL, 0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
  0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL, 0xc19bf174cf692694ULL,
  0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
  0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
  0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL,
  0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL, 0x06ca6351e003826fULL, 0x142929670a0e6e70ULL,
  0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
  0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
  0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL,
  0xd192e819d6ef5218ULL, 0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
  0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL,
  0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL,
  0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
  0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL,
  0xca273eceea26619cULL, 0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL,
  0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
  0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL, 0x431d67c49c100d4cULL,
  0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL,
};

// SHA-512/256's own initial hash value (FIPS 180-4 §5.3.6.2), not SHA-512's.
static const uint64_t IV[8] = {
  0x22312194fc2bf72cULL, 0x9f555fa3c84c64c2ULL, 0x2393b86b6f53b151ULL, 0x963877195940eabdULL,
  0x96283ee2a88effe3ULL, 0xbe5e1e2553863992ULL, 0x2b0199fc2c85b8aaULL, 0x0eb72ddc81c52ca2ULL,
};

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512bw")))

// Message words are big-endian (§3.1); the compress step wants them as numbers.
static inline uint64_t load_be64(const uint8_t* p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

// One 128-byte block of each lane: state st[word] holds word `word` of all eight lanes' states.
AVX512 static void compress8(__m512i st[8], const uint8_t* const blk[LANES]) {
  uint64_t wt[16][LANES] __attribute__((aligned(64)));
  for (int l = 0; l < LANES; l++)
    for (int t = 0; t < 16; t++) wt[t][l] = load_be64(blk[l] + 8 * t);
  __m512i w[16];
  for (int t = 0; t < 16; t++) w[t] = _mm512_load_si512((const void*)wt[t]);
  __m512i a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
  for (int t = 0; t < 80; t++) {
    if (t >= 16) {
      __m512i w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
      // σ0 = ror1 ^ ror8 ^ shr7, σ1 = ror19 ^ ror61 ^ shr6; 0x96 is a three-way xor.
      __m512i s0 = _mm512_ternarylogic_epi64(_mm512_ror_epi64(w15, 1), _mm512_ror_epi64(w15, 8), _mm512_srli_epi64(w15, 7), 0x96);
      __m512i s1 = _mm512_ternarylogic_epi64(_mm512_ror_epi64(w2, 19), _mm512_ror_epi64(w2, 61), _mm512_srli_epi64(w2, 6), 0x96);
      w[t & 15] = _mm512_add_epi64(_mm512_add_epi64(w[t & 15], s0), _mm512_add_epi64(s1, w[(t - 7) & 15]));
    }
    __m512i S1 = _mm512_ternarylogic_epi64(_mm512_ror_epi64(e, 14), _mm512_ror_epi64(e, 18), _mm512_ror_epi64(e, 41), 0x96);
    __m512i ch = _mm512_ternarylogic_epi64(e, f, g, 0xca);  // e ? f : g
    __m512i t1 = _mm512_add_epi64(_mm512_add_epi64(h, S1), _mm512_add_epi64(ch, _mm512_add_epi64(w[t & 15], _mm512_set1_epi64((long long)K[t]))));
    __m512i S0 = _mm512_ternarylogic_epi64(_mm512_ror_epi64(a, 28), _mm512_ror_epi64(a, 34), _mm512_ror_epi64(a, 39), 0x96);
    __m512i maj = _mm512_ternarylogic_epi64(a, b, c, 0xe8);  // majority of a, b, c
    h = g; g = f; f = e; e = _mm512_add_epi64(d, t1);
    d = c; c = b; b = a; a = _mm512_add_epi64(t1, _mm512_add_epi64(S0, maj));
  }
  st[0] = _mm512_add_epi64(st[0], a); st[1] = _mm512_add_epi64(st[1], b);
  st[2] = _mm512_add_epi64(st[2], c); st[3] = _mm512_add_epi64(st[3], d);
  st[4] = _mm512_add_epi64(st[4], e); st[5] = _mm512_add_epi64(st[5], f);
  st[6] = _mm512_add_epi64(st[6], g); st[7] = _mm512_add_epi64(st[7], h);
}

typedef struct {
  const uint8_t* data;
  size_t full;       // whole blocks straight from data
  size_t blocks;     // full + 1 or 2 blocks of tail and padding
  size_t done;
  long job;          // index into the output, -1 when the lane is idle
  uint8_t tail[2 * BLOCK];
} lane_t;

// The message's last bytes, the 0x80 marker, zeros and its length in bits as 128-bit big-endian (§5.1.2).
static void start_lane(lane_t* ln, const uint8_t* data, size_t len, long job) {
  ln->data = data;
  ln->full = len / BLOCK;
  size_t rest = len % BLOCK;
  size_t tail_blocks = rest + 1 + 16 <= BLOCK ? 1 : 2;
  memset(ln->tail, 0, sizeof ln->tail);
  if (rest) memcpy(ln->tail, data + ln->full * BLOCK, rest);
  ln->tail[rest] = 0x80;
  uint64_t bits_lo = (uint64_t)len << 3, bits_hi = (uint64_t)len >> 61;
  uint8_t* end = ln->tail + tail_blocks * BLOCK;
  for (int i = 0; i < 8; i++) {
    end[-1 - i] = (uint8_t)(bits_lo >> (8 * i));
    end[-9 - i] = (uint8_t)(bits_hi >> (8 * i));
  }
  ln->blocks = ln->full + tail_blocks;
  ln->done = 0;
  ln->job = job;
}

static inline const uint8_t* lane_block(const lane_t* ln) {
  return ln->done < ln->full ? ln->data + ln->done * BLOCK : ln->tail + (ln->done - ln->full) * BLOCK;
}

// Hashes n messages into out (32 bytes each, in order).
AVX512 static void hash_many(const uint8_t* const* data, const size_t* len, size_t n, uint8_t* out) {
  static const uint8_t idle[BLOCK];
  lane_t lanes[LANES];
  __m512i st[8];
  uint64_t words[8][LANES] __attribute__((aligned(64)));
  size_t next = 0;
  int active = 0;
  for (int l = 0; l < LANES; l++) {
    if (next < n) { start_lane(&lanes[l], data[next], len[next], (long)next); next++; active++; }
    else lanes[l].job = -1;
  }
  for (int i = 0; i < 8; i++) st[i] = _mm512_set1_epi64((long long)IV[i]);
  while (active) {
    // Run every lane for as many blocks as the shortest busy one still has: no lane finishes
    // in between, so the state stays in registers.
    size_t run = SIZE_MAX;
    for (int l = 0; l < LANES; l++)
      if (lanes[l].job >= 0 && lanes[l].blocks - lanes[l].done < run) run = lanes[l].blocks - lanes[l].done;
    for (size_t r = 0; r < run; r++) {
      const uint8_t* blk[LANES];
      for (int l = 0; l < LANES; l++) blk[l] = lanes[l].job >= 0 ? lane_block(&lanes[l]) : idle;
      compress8(st, blk);
      for (int l = 0; l < LANES; l++) lanes[l].done++;
    }
    for (int i = 0; i < 8; i++) _mm512_store_si512((void*)words[i], st[i]);
    for (int l = 0; l < LANES; l++) {
      lane_t* ln = &lanes[l];
      if (ln->job < 0 || ln->done < ln->blocks) continue;
      // SHA-512/256: the first four state words, big-endian (§6.7).
      uint8_t* o = out + 32 * (size_t)ln->job;
      for (int i = 0; i < 4; i++) {
        uint64_t v = __builtin_bswap64(words[i][l]);
        memcpy(o + 8 * i, &v, 8);
      }
      active--;
      ln->job = -1;
      if (next < n) {
        start_lane(ln, data[next], len[next], (long)next);
        next++;
        active++;
        for (int i = 0; i < 8; i++) words[i][l] = IV[i];
      }
    }
    for (int i = 0; i < 8; i++) st[i] = _mm512_load_si512((const void*)words[i]);
  }
}

static napi_value fail(napi_env env, const char* msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static int bytes(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  void* p;
  if (napi_get_typedarray_info(env, v, &t, len, &p, &ab, &off) != napi_ok || t != napi_uint8_array) return 0;
  *data = p;
  return p != NULL || *len == 0;
}

// A worker's batch is at most 32 chunks (worker-pool.ts): more is a caller's mistake.
#define MAX_CHUNKS 256

// hashChunks(chunks: Uint8Array[], out: Uint8Array): out[32 i, 32 i + 32) = SHA-512/256 of chunks[i].
static napi_value js_hash(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) return fail(env, "hashChunks: 2 arguments");
  bool is_array;
  uint32_t n;
  if (napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[0], &n) != napi_ok)
    return fail(env, "hashChunks: chunks must be an array");
  if (n > MAX_CHUNKS) return fail(env, "hashChunks: at most 256 chunks");
  uint8_t* out;
  size_t out_len;
  if (!bytes(env, argv[1], &out, &out_len) || out_len < 32 * (size_t)n) return fail(env, "hashChunks: out must be a Uint8Array of 32 bytes per chunk");
  const uint8_t* data[MAX_CHUNKS];
  size_t len[MAX_CHUNKS];
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    uint8_t* p;
    if (napi_get_element(env, argv[0], i, &v) != napi_ok || !bytes(env, v, &p, &len[i])) return fail(env, "hashChunks: every chunk must be a Uint8Array");
    data[i] = p;
  }
  hash_many(data, len, n, out);
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}

NAPI_MODULE_INIT() {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512bw")) return exports;
  napi_value fn;
  if (napi_create_function(env, "hashChunks", NAPI_AUTO_LENGTH, js_hash, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "hashChunks", fn) != napi_ok)
    return NULL;
  return exports;
}
