// The steady state of a lock-step TFTP read transfer (RFC 1350, window 1), relayed here without
// waking JavaScript: when the client acknowledges the block just sent, the next block goes out
// from this callback.
//
// Why: in lock-step the client waits for each block, so everything the server does between an
// ACK and the next DATA is on the critical path. Through JavaScript that is a callback into V8,
// a Buffer for the 4-byte ACK, the transfer's bookkeeping and a call back into the addon: 11-15
// us of user time per block on the bench VM, where tftpd-hpa spends only its read() (measured,
// bench/tftp/RESULTS.md). At 64 KiB blocks it left branchboot at 0.92x of tftpd-hpa.
//
// What stays in TypeScript (src/tftp/transfer.ts): everything that is not the plain case.
// The relay handles only an ACK of exactly the block in flight (sending the next) or a
// repeat of the previous ACK (ignored, as the transfer does: answering it would be the
// sorcerer's apprentice bug, RFC 1123 §4.2.3.1). Anything else - the last block's ACK, an
// ERROR, a packet that is not a 4-byte ACK, a block that cannot be read - stops the relay and
// goes to JavaScript, which takes the counters from lockstepStop() and carries on as if it had
// sent every block itself. Timers stay in JavaScript: it reads lockstepProgress() on its tick.
#include "sock.h"

#include <stdbool.h>
#include <time.h>

#define OP_DATA 3
#define OP_ACK 4

struct lockstep {
  int armed;
  // A block's bytes come from memory (a file held in memory, kept alive by data_ref) ...
  const uint8_t* data;
  napi_ref data_ref;
  // ... or are read from a file the transfer owns (the relay never closes it).
  int file;
  uint64_t size;
  uint32_t blksize;
  uint64_t last_block;  // absolute block numbers, not wrapped at 65536
  uint64_t acked;
  uint64_t sent;        // the block in flight: acked + 1 while armed
  uint64_t progress;    // ACKs answered here since the transfer began
  // Round trips, for the transfer's retransmission timer: the ACKs answered here never reach
  // JavaScript, and without samples its timer stays as far backed off as the last loss left
  // it (seconds per loss). Only a block this relay sent is timed: the caller's block, sent at
  // a time not known here, may be a retransmission (Karn's rule).
  uint64_t sent_ns;     // when the block in flight was sent here, 0 when the caller sent it
  uint64_t rtt_ns;      // the last round trip measured and not yet taken, 0 for none
  // A file's next block, read while the client was busy with the one before (4-byte header
  // and data): reading it only when the ACK arrives would put the read on the critical path.
  uint8_t* packet;
  uint64_t packet_block;  // the block `packet` holds, 0 for none
  uint32_t packet_len;
};

static uint32_t block_len(const struct lockstep* l, uint64_t block) {
  uint64_t pos = (block - 1) * l->blksize;
  uint64_t left = l->size > pos ? l->size - pos : 0;
  return left < l->blksize ? (uint32_t)left : l->blksize;
}

// Reads `block` into the packet buffer; false when the file cannot give its bytes now (an
// error or a file that shrank): the transfer then meets the failure itself and reports it.
static bool read_block(struct lockstep* l, uint64_t block) {
  uint32_t len = block_len(l, block);
  uint64_t pos = (block - 1) * l->blksize;
  for (uint32_t done = 0; done < len;) {
    ssize_t n = pread(l->file, l->packet + 4 + done, len - done, (off_t)(pos + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      l->packet_block = 0;
      return false;
    }
    done += (uint32_t)n;
  }
  l->packet[0] = 0;
  l->packet[1] = OP_DATA;
  l->packet[2] = (uint8_t)(block >> 8);
  l->packet[3] = (uint8_t)block;
  l->packet_block = block;
  l->packet_len = 4 + len;
  return true;
}

// Sends `block`; false when its bytes cannot be had (JavaScript then handles the ACK).
static bool send_block(sock_t* s, struct lockstep* l, uint64_t block) {
  if (l->data) {
    uint8_t hdr[4] = {0, OP_DATA, (uint8_t)(block >> 8), (uint8_t)block};
    uint32_t len = block_len(l, block);
    struct iovec iov[2] = {{hdr, 4}, {(void*)(l->data + (block - 1) * l->blksize), len}};
    // A send error is a lost datagram, as on the wire: the transfer's timer resends it.
    sock_send(s, NULL, iov, len ? 2 : 1);
    return true;
  }
  if (l->packet_block != block && !read_block(l, block)) return false;
  struct iovec iov = {l->packet, l->packet_len};
  sock_send(s, NULL, &iov, 1);
  if (block < l->last_block) read_block(l, block + 1);
  return true;
}

static uint64_t monotonic_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

unsigned lockstep_filter(sock_t* s, unsigned count) {
  struct lockstep* l = s->lockstep;
  for (unsigned i = 0; i < count; i++) {
    if (!l->armed || s->closed) return i;
    struct mmsghdr* mh = &s->msgs[i];
    const uint8_t* p = (const uint8_t*)s->rbuf + (size_t)i * s->max_packet;
    bool ack = mh->msg_len == 4 && !(mh->msg_hdr.msg_flags & MSG_TRUNC) && p[0] == 0 && p[1] == OP_ACK;
    uint16_t n = ack ? (uint16_t)(p[2] << 8 | p[3]) : 0;
    if (ack && n == (uint16_t)l->acked) continue;  // a repeated ACK: ignored
    if (ack && n == (uint16_t)l->sent && l->sent < l->last_block) {
      uint64_t next = l->sent + 1;
      uint64_t now = monotonic_ns();
      if (l->sent_ns) l->rtt_ns = now - l->sent_ns;
      if (send_block(s, l, next)) {
        l->acked = l->sent;
        l->sent = next;
        l->sent_ns = now;
        l->progress++;
        continue;
      }
    }
    l->armed = 0;
    return i;
  }
  return count;
}

static void drop_data(napi_env env, struct lockstep* l, int env_alive) {
  if (l->data_ref && env_alive) napi_delete_reference(env, l->data_ref);
  l->data_ref = NULL;
  l->data = NULL;
}

void lockstep_free(napi_env env, sock_t* s, int env_alive) {
  struct lockstep* l = s->lockstep;
  if (!l) return;
  drop_data(env, l, env_alive);
  free(l->packet);
  free(l);
  s->lockstep = NULL;
}

static napi_value boolean(napi_env env, bool v) {
  napi_value r;
  return napi_get_boolean(env, v, &r) == napi_ok ? r : NULL;
}

static bool get_u64(napi_env env, napi_value v, uint64_t* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > 9007199254740991.0 || d != (double)(uint64_t)d) return false;
  *out = (uint64_t)d;
  return true;
}

// lockstepStart(h, data: Buffer | null, fd, size, blksize, lastBlock, acked) -> true when armed.
// The socket must be connected to the client, and block acked + 1 just sent by the caller.
napi_value js_lockstep_start(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[7];
  sock_t* s = sock_args(env, info, 7, &argc, argv);
  if (!s) return NULL;
  uint64_t size, last_block, acked;
  uint32_t blksize;
  int32_t fd;
  napi_valuetype dt;
  void* data = NULL;
  size_t data_len = 0;
  if (argc < 7 || napi_typeof(env, argv[1], &dt) != napi_ok || napi_get_value_int32(env, argv[2], &fd) != napi_ok ||
      !get_u64(env, argv[3], &size) || napi_get_value_uint32(env, argv[4], &blksize) != napi_ok ||
      !get_u64(env, argv[5], &last_block) || !get_u64(env, argv[6], &acked) || blksize < 8 || blksize > 65464 ||
      last_block != size / blksize + 1 || acked >= last_block ||
      (dt != napi_null && napi_get_buffer_info(env, argv[1], &data, &data_len) != napi_ok) ||
      (dt == napi_null ? fd < 0 : data_len != size)) {
    napi_throw_type_error(env, NULL, "lockstepStart: bad arguments");
    return NULL;
  }
  if (s->closed || !s->connected) return boolean(env, false);
  struct lockstep* l = s->lockstep;
  if (!l) {
    l = calloc(1, sizeof *l);
    if (!l) return boolean(env, false);
    s->lockstep = l;
  }
  if (dt == napi_null) {
    drop_data(env, l, 1);
    if (!l->packet || l->blksize != blksize) {
      free(l->packet);
      l->packet = malloc(4 + (size_t)blksize);
      l->packet_block = 0;
      if (!l->packet) return boolean(env, false);
    }
    if (l->file != fd) l->packet_block = 0;
    l->file = fd;
  } else if (l->data != data) {
    drop_data(env, l, 1);
    if (napi_create_reference(env, argv[1], 1, &l->data_ref) != napi_ok) return NULL;
    l->data = data;
  }
  l->size = size;
  l->blksize = blksize;
  l->last_block = last_block;
  l->acked = acked;
  l->sent = acked + 1;
  l->sent_ns = 0;
  l->rtt_ns = 0;
  l->armed = 1;
  return boolean(env, true);
}

// lockstepStop(h) -> [acked, sent]: where the relay left the transfer (it stops if armed);
// undefined when it never started.
napi_value js_lockstep_stop(napi_env env, napi_callback_info info) {
  sock_t* s = sock_arg(env, info);
  if (!s) return NULL;
  struct lockstep* l = s->lockstep;
  napi_value r, v;
  if (!l) return napi_get_undefined(env, &r) == napi_ok ? r : NULL;
  l->armed = 0;
  if (napi_create_array_with_length(env, 2, &r) != napi_ok || napi_create_double(env, (double)l->acked, &v) != napi_ok ||
      napi_set_element(env, r, 0, v) != napi_ok || napi_create_double(env, (double)l->sent, &v) != napi_ok ||
      napi_set_element(env, r, 1, v) != napi_ok)
    return NULL;
  return r;
}

// lockstepProgress(h) -> ACKs answered by the relay so far (0 when it never started).
napi_value js_lockstep_progress(napi_env env, napi_callback_info info) {
  sock_t* s = sock_arg(env, info);
  if (!s) return NULL;
  napi_value r;
  return napi_create_double(env, s->lockstep ? (double)s->lockstep->progress : 0, &r) == napi_ok ? r : NULL;
}

// lockstepRtt(h) -> the last round trip (ms) the relay measured since the previous call, 0 for none.
napi_value js_lockstep_rtt(napi_env env, napi_callback_info info) {
  sock_t* s = sock_arg(env, info);
  if (!s) return NULL;
  double ms = 0;
  if (s->lockstep) {
    ms = (double)s->lockstep->rtt_ns / 1e6;
    s->lockstep->rtt_ns = 0;
  }
  napi_value r;
  return napi_create_double(env, ms, &r) == napi_ok ? r : NULL;
}
