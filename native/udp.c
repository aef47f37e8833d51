// UDP sockets for the DHCP and TFTP servers, without Node's dgram layer.
//
// Why: per datagram, dgram allocates a 64 KiB receive buffer, builds an rinfo object with a
// string address and emits an event; each send normalises its arguments and allocates a send
// request. For DHCP that was ~45-50 us of the ~110 us of main-thread CPU per DORA, and for
// lock-step TFTP it is a fixed cost on every block. This file does only I/O: it owns the
// socket, reads datagrams in batches (recvmmsg: one system call per wake-up, no EAGAIN probe,
// since libuv's epoll is level-triggered) into a buffer reused for the socket's life, hands
// each to JavaScript as (Buffer, IPv4 as uint32, port), and sends synchronously with
// sendmsg. No packet is parsed here: protocol logic stays in TypeScript, with one exception,
// the steady state of a lock-step TFTP transfer (native/lockstep.c says why).
//
// A send that meets a full socket buffer (EAGAIN: a 16 x 64 KiB TFTP window) is copied to a
// queue that drains when the socket becomes writable, so the caller never sees a loss that
// did not happen on the wire (dgram's behaviour too).
#include "sock.h"

#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) return NULL;               \
  } while (0)

static napi_value throw_errno(napi_env env, const char* what, int err) {
  char msg[160];
  const char* name = uv_err_name(-err);
  snprintf(msg, sizeof msg, "%s: %s (%s)", what, name, strerror(err));
  napi_value code, message, error;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_value num;
  napi_create_int32(env, -err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_throw(env, error);
  return NULL;
}

// A send's outcome for JavaScript: bytes, 0 (queued) or a negative errno; NULL if napi failed.
static napi_value int_result(napi_env env, int32_t v) {
  napi_value r;
  return napi_create_int32(env, v, &r) == napi_ok ? r : NULL;
}

static sock_t* get_sock(napi_env env, napi_value v) {
  sock_t* s = NULL;
  if (napi_get_value_external(env, v, (void**)&s) != napi_ok || s == NULL) {
    napi_throw_type_error(env, NULL, "not a udp socket");
    return NULL;
  }
  return s;
}

// A call on a socket: its arguments (argv[0] the handle; missing ones read as undefined) and
// the socket, or NULL with a JavaScript exception pending.
sock_t* sock_args(napi_env env, napi_callback_info info, size_t want, size_t* argc, napi_value* argv) {
  *argc = want;
  if (napi_get_cb_info(env, info, argc, argv, NULL, NULL) != napi_ok) return NULL;
  return get_sock(env, argv[0]);
}

sock_t* sock_arg(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[1];
  return sock_args(env, info, 1, &argc, argv);
}

static int get_u32(napi_env env, napi_value v, uint32_t* out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

static void on_poll(uv_poll_t* h, int status, int events);

static void start_poll(sock_t* s, int events) {
  if (s->closed || events == s->poll_events) return;
  s->poll_events = events;
  if (events == 0) uv_poll_stop(&s->poll);
  else uv_poll_start(&s->poll, events, on_poll);
}

static void free_pending(sock_t* s) {
  pending_t* p = s->head;
  while (p) {
    pending_t* n = p->next;
    free(p);
    p = n;
  }
  s->head = s->tail = NULL;
  s->queued = 0;
}

static void release(sock_t* s) {
  if (--s->refs > 0) return;
  free(s->out);
  free(s->rbuf);
  free(s->msgs);
  free(s->iovs);
  free(s->froms);
  free(s->ctrl);
  free(s);
}

static void on_closed(uv_handle_t* h) { release((sock_t*)h->data); }

static void cleanup_hook(void* arg);
static void flush_pending(sock_t* s);
static void flush_out(sock_t* s);

// Closing is idempotent; the memory goes when libuv has released the poll handle.
static void close_sock(sock_t* s, int from_cleanup) {
  if (s->closed) return;
  // A last datagram queued behind a full buffer (the error that ends a transfer) still
  // gets its chance; what the kernel will not take now is lost, as on the wire.
  flush_out(s);
  flush_pending(s);
  s->closed = 1;
  uv_poll_stop(&s->poll);
  uv_check_stop(&s->check);
  uv_idle_stop(&s->idle);
  close(s->fd);
  s->fd = -1;
  free_pending(s);
  lockstep_free(s->env, s, !from_cleanup);
  if (!from_cleanup) {
    napi_remove_env_cleanup_hook(s->env, cleanup_hook, s);
    if (s->on_message) napi_delete_reference(s->env, s->on_message);
    if (s->actx) napi_async_destroy(s->env, s->actx);
    if (s->self) napi_delete_reference(s->env, s->self);
  }
  s->on_message = NULL;
  s->actx = NULL;
  s->self = NULL;
  uv_close((uv_handle_t*)&s->poll, on_closed);
  uv_close((uv_handle_t*)&s->check, on_closed);
  uv_close((uv_handle_t*)&s->idle, on_closed);
}

// A worker thread ending with a socket still open: JavaScript is gone, only the fd and the
// poll handle need releasing.
static void cleanup_hook(void* arg) { close_sock((sock_t*)arg, 1); }

// The external is referenced while the socket is open, so this runs only after close.
static void finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  release((sock_t*)data);
}

static void flush_pending(sock_t* s) {
  while (s->head) {
    pending_t* p = s->head;
    struct iovec iov = {p->data, p->len};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (p->has_to) {
      m.msg_name = &p->to;
      m.msg_namelen = sizeof p->to;
    }
    ssize_t n = sendmsg(s->fd, &m, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // Any other error is the loss of that one datagram, as on the wire.
    s->head = p->next;
    if (!s->head) s->tail = NULL;
    s->queued -= p->len;
    free(p);
  }
}

// Copies a datagram to the queue that drains when the socket is writable (order kept).
static int enqueue(sock_t* s, const struct sockaddr_in* to, const struct iovec* iov, int iovcnt) {
  size_t total = 0;
  for (int i = 0; i < iovcnt; i++) total += iov[i].iov_len;
  if (s->queued + total > MAX_QUEUED) return -ENOBUFS;
  pending_t* p = malloc(sizeof *p + total);
  if (!p) return -ENOMEM;
  p->next = NULL;
  p->has_to = to != NULL;
  if (to) p->to = *to;
  p->len = total;
  size_t at = 0;
  for (int i = 0; i < iovcnt; i++) {
    // An empty Buffer's data pointer may be NULL, which memcpy must not be given.
    if (iov[i].iov_len) memcpy(p->data + at, iov[i].iov_base, iov[i].iov_len);
    at += iov[i].iov_len;
  }
  if (s->tail) s->tail->next = p;
  else s->head = p;
  s->tail = p;
  s->queued += total;
  start_poll(s, UV_WRITABLE | (s->on_message ? UV_READABLE : 0));
  return 0;
}

// sendLater's datagrams in one sendmmsg: one system call for a loop turn's replies, and the
// peer is woken once for them rather than once per datagram.
static void flush_out(sock_t* s) {
  struct mmsghdr mm[OUT_MAX];
  unsigned done = 0;
  while (done < s->outn && !s->head) {
    unsigned n = s->outn - done;
    for (unsigned i = 0; i < n; i++) {
      memset(&mm[i], 0, sizeof mm[i]);
      mm[i].msg_hdr.msg_name = &s->out[done + i].to;
      mm[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
      mm[i].msg_hdr.msg_iov = &s->out[done + i].iov;
      mm[i].msg_hdr.msg_iovlen = 1;
    }
    int k = sendmmsg(s->fd, mm, n, MSG_DONTWAIT);
    if (k > 0) {
      for (int i = 0; i < k; i++) free(s->out[done + i].iov.iov_base);
      done += (unsigned)k;
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    // This datagram failed for another reason (no route, EPERM): it is lost, as on the wire.
    free(s->out[done].iov.iov_base);
    done++;
  }
  // What the kernel would not take now waits for writability, behind what already waits.
  for (; done < s->outn; done++) {
    enqueue(s, &s->out[done].to, &s->out[done].iov, 1);
    free(s->out[done].iov.iov_base);
  }
  s->outn = 0;
}

static void on_check(uv_check_t* h) {
  sock_t* s = (sock_t*)h->data;
  flush_out(s);
  uv_check_stop(&s->check);
  uv_idle_stop(&s->idle);
}

static void on_idle(uv_idle_t* h) { (void)h; }

#define CTRL_SLOT CMSG_SPACE(sizeof(struct in_pktinfo))

// The local address a datagram was received for (IP_PKTINFO's ipi_spec_dst: for a broadcast,
// the address of the interface it came in on), or 0 when not asked for.
static uint32_t local_address(struct msghdr* m) {
  if (!m->msg_control) return 0;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      return ntohl(pi.ipi_spec_dst.s_addr);
    }
  }
  return 0;
}

static void deliver(sock_t* s, unsigned first, unsigned count) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value resource, recv;
  napi_callback_scope cbscope;
  if (napi_get_reference_value(env, s->self, &resource) != napi_ok ||
      napi_open_callback_scope(env, resource, s->actx, &cbscope) != napi_ok) {
    napi_close_handle_scope(env, scope);
    return;
  }
  napi_get_undefined(env, &recv);
  for (unsigned i = first; i < count && !s->closed; i++) {
    struct mmsghdr* mh = &s->msgs[i];
    if (mh->msg_hdr.msg_flags & MSG_TRUNC) {
      // Larger than any packet this socket expects (max_packet): garbage for its protocol.
      continue;
    }
    napi_handle_scope inner;
    if (napi_open_handle_scope(env, &inner) != napi_ok) break;
    napi_value fn, argv[4];
    void* data;
    // Fetched for each datagram: a listener may replace itself (onMessage) mid-batch.
    napi_status st = napi_get_reference_value(env, s->on_message, &fn);
    if (st == napi_ok && fn == NULL) st = napi_generic_failure;
    if (st == napi_ok) st = napi_create_buffer_copy(env, mh->msg_len, s->rbuf + (size_t)i * s->max_packet, &data, &argv[0]);
    if (st == napi_ok) st = napi_create_uint32(env, ntohl(s->froms[i].sin_addr.s_addr), &argv[1]);
    if (st == napi_ok) st = napi_create_uint32(env, ntohs(s->froms[i].sin_port), &argv[2]);
    if (st == napi_ok) st = napi_create_uint32(env, local_address(&mh->msg_hdr), &argv[3]);
    if (st == napi_ok) st = napi_call_function(env, recv, fn, 4, argv, NULL);
    napi_close_handle_scope(env, inner);
    if (st == napi_ok) continue;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    // No exception but a failure: JavaScript cannot run (a worker being torn down).
    if (!pending) break;
    // As a throwing dgram 'message' listener does: an uncaught exception of the process. A
    // process that handles those goes on, and so do the other datagrams of this batch (one
    // client's bad packet must not cost its neighbours theirs). If the exception cannot be
    // reported (a worker terminating), stop.
    napi_value err;
    if (napi_get_and_clear_last_exception(env, &err) != napi_ok || napi_fatal_exception(env, err) != napi_ok) break;
  }
  // Closing the callback scope runs process.nextTick callbacks and promise reactions.
  napi_close_callback_scope(env, cbscope);
  napi_close_handle_scope(env, scope);
}

static void on_poll(uv_poll_t* h, int status, int events) {
  sock_t* s = (sock_t*)h->data;
  if (s->closed) return;
  if (status < 0) {
    // POLLERR: an ICMP error (port unreachable) queued on a connected socket. libuv has
    // stopped the handle; for UDP the error is one lost datagram, so clear it (reading
    // SO_ERROR does) and listen again, or the socket would never hear its peer again.
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    int want = s->poll_events;
    s->poll_events = 0;
    start_poll(s, want);
    return;
  }
  if (events & UV_WRITABLE) {
    flush_pending(s);
    if (!s->head) start_poll(s, s->on_message ? UV_READABLE : 0);
  }
  // Up to READ_ROUNDS batches per wake-up, as libuv's own UDP reads up to 32 datagrams: what
  // arrived together is handled in one loop turn, so DHCP commits those leases together.
  // A short batch means the queue is empty: no further call (and no EAGAIN probe).
  for (int round = 0; round < READ_ROUNDS && (events & UV_READABLE) && s->on_message && !s->closed; round++) {
    for (unsigned i = 0; i < s->batch; i++) {
      s->msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
      s->msgs[i].msg_hdr.msg_flags = 0;
      if (s->ctrl) s->msgs[i].msg_hdr.msg_controllen = CTRL_SLOT;
    }
    int n = recvmmsg(s->fd, s->msgs, s->batch, MSG_DONTWAIT, NULL);
    if (n > 0) {
      unsigned first = s->lockstep ? lockstep_filter(s, (unsigned)n) : 0;
      if (first < (unsigned)n) deliver(s, first, (unsigned)n);
    }
    if (n < (int)s->batch) break;
  }
}

static int parse_addr(napi_env env, napi_value v, struct sockaddr_in* a, uint32_t port) {
  uint32_t ip;
  if (!get_u32(env, v, &ip)) return 0;
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(ip);
  a->sin_port = htons((uint16_t)port);
  return 1;
}

// open(address: u32, port, reuseAddr, broadcast, recvBuffer, sendBuffer, batch, maxPacket[, pktinfo])
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8) {
    napi_throw_type_error(env, NULL, "open: 8 or 9 arguments");
    return NULL;
  }
  uint32_t port, rcvbuf, sndbuf, batch, max_packet;
  bool reuse, bcast, pktinfo = false;
  struct sockaddr_in addr;
  if (!get_u32(env, argv[1], &port) || port > 65535 || !parse_addr(env, argv[0], &addr, port) ||
      napi_get_value_bool(env, argv[2], &reuse) != napi_ok || napi_get_value_bool(env, argv[3], &bcast) != napi_ok ||
      !get_u32(env, argv[4], &rcvbuf) || !get_u32(env, argv[5], &sndbuf) || !get_u32(env, argv[6], &batch) ||
      !get_u32(env, argv[7], &max_packet) || (argc >= 9 && napi_get_value_bool(env, argv[8], &pktinfo) != napi_ok) || batch < 1 || batch > 64 || max_packet < 16 || max_packet > 65536) {
    napi_throw_type_error(env, NULL, "open: bad arguments");
    return NULL;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1;
  if (reuse) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bcast) setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
  if (pktinfo) setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
  if (rcvbuf) {
    int v = (int)rcvbuf;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  }
  if (sndbuf) {
    int v = (int)sndbuf;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  }
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) < 0) {
    int err = errno;
    close(fd);
    char what[64];
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof ip);
    snprintf(what, sizeof what, "bind %s:%u", ip, port);
    return throw_errno(env, what, err);
  }
  sock_t* s = calloc(1, sizeof *s);
  if (s) {
    s->rbuf = malloc((size_t)batch * max_packet);
    s->msgs = calloc(batch, sizeof *s->msgs);
    s->iovs = calloc(batch, sizeof *s->iovs);
    s->froms = calloc(batch, sizeof *s->froms);
    if (pktinfo) s->ctrl = calloc(batch, CTRL_SLOT);
  }
  uv_loop_t* loop = NULL;
  if (!s || !s->rbuf || !s->msgs || !s->iovs || !s->froms || (pktinfo && !s->ctrl) || napi_get_uv_event_loop(env, &loop) != napi_ok ||
      uv_poll_init(loop, &s->poll, fd) != 0 || uv_check_init(loop, &s->check) != 0 || uv_idle_init(loop, &s->idle) != 0) {
    close(fd);
    if (s) {
      free(s->rbuf);
      free(s->msgs);
      free(s->iovs);
      free(s->froms);
      free(s->ctrl);
      free(s);
    }
    return throw_errno(env, "open", ENOMEM);
  }
  s->env = env;
  s->fd = fd;
  s->poll.data = s;
  s->check.data = s;
  s->idle.data = s;
  s->refs = 4;
  // Only the poll handle keeps the loop alive (dgram's ref semantics).
  uv_unref((uv_handle_t*)&s->check);
  uv_unref((uv_handle_t*)&s->idle);
  s->batch = batch;
  s->max_packet = max_packet;
  for (unsigned i = 0; i < batch; i++) {
    s->iovs[i].iov_base = s->rbuf + (size_t)i * max_packet;
    s->iovs[i].iov_len = max_packet;
    s->msgs[i].msg_hdr.msg_iov = &s->iovs[i];
    s->msgs[i].msg_hdr.msg_iovlen = 1;
    s->msgs[i].msg_hdr.msg_name = &s->froms[i];
    if (s->ctrl) s->msgs[i].msg_hdr.msg_control = s->ctrl + (size_t)i * CTRL_SLOT;
  }
  napi_value ext, name;
  CHECK(napi_create_external(env, s, finalize, NULL, &ext));
  CHECK(napi_create_reference(env, ext, 1, &s->self));
  CHECK(napi_create_string_utf8(env, "branchboot.udp", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, ext, name, &s->actx));
  napi_add_env_cleanup_hook(env, cleanup_hook, s);
  return ext;
}

// onMessage(h, fn): start delivering datagrams.
static napi_value js_on_message(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[2];
  sock_t* s = sock_args(env, info, 2, &argc, argv);
  if (!s) return NULL;
  if (s->closed) return throw_errno(env, "onMessage", EBADF);
  if (s->on_message) napi_delete_reference(env, s->on_message);
  CHECK(napi_create_reference(env, argv[1], 1, &s->on_message));
  start_poll(s, UV_READABLE | (s->head ? UV_WRITABLE : 0));
  return NULL;
}

// connect(h, address, port)
static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[3];
  sock_t* s = sock_args(env, info, 3, &argc, argv);
  if (!s) return NULL;
  uint32_t port;
  struct sockaddr_in a;
  if (!get_u32(env, argv[2], &port) || port > 65535 || !parse_addr(env, argv[1], &a, port)) {
    napi_throw_type_error(env, NULL, "connect: bad address");
    return NULL;
  }
  if (s->closed) return throw_errno(env, "connect", EBADF);
  if (connect(s->fd, (struct sockaddr*)&a, sizeof a) < 0) return throw_errno(env, "connect", errno);
  s->connected = 1;
  // connect() filters what arrives from now on, not what is already queued: a datagram that
  // reached the fresh port between bind and connect could come from anyone (a TFTP transfer
  // would take it for its client's). Drop those; bounded, as a flood must not hold us here.
  char scratch[1];
  for (int i = 0; i < 1024 && recv(s->fd, scratch, sizeof scratch, MSG_DONTWAIT | MSG_TRUNC) >= 0; i++) {
  }
  return NULL;
}

// send(h, address, port, buf[, buf2]) -> bytes sent, 0 when queued, or -errno. Address and
// port are ignored on a connected socket (pass 0, 0).
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[5];
  sock_t* s = sock_args(env, info, 5, &argc, argv);
  if (!s) return NULL;
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "send: 4 or 5 arguments");
    return NULL;
  }
  if (s->closed) return int_result(env, -EBADF);
  struct iovec iov[2];
  int iovcnt = argc >= 5 ? 2 : 1;
  for (int i = 0; i < iovcnt; i++) {
    if (napi_get_buffer_info(env, argv[3 + i], &iov[i].iov_base, &iov[i].iov_len) != napi_ok) {
      napi_throw_type_error(env, NULL, "send: not a Buffer");
      return NULL;
    }
  }
  struct sockaddr_in to;
  int has_to = 0;
  if (!s->connected) {
    uint32_t port;
    if (!get_u32(env, argv[2], &port) || port > 65535 || !parse_addr(env, argv[1], &to, port)) {
      napi_throw_type_error(env, NULL, "send: bad address");
      return NULL;
    }
    has_to = 1;
  }
  return int_result(env, sock_send(s, has_to ? &to : NULL, iov, iovcnt));
}

int sock_send(sock_t* s, const struct sockaddr_in* to, struct iovec* iov, int iovcnt) {
  // dgram sends at once: what sendLater gathered earlier leaves first, so that datagrams go
  // out in the order of the calls with either implementation.
  if (s->outn) flush_out(s);
  if (!s->head) {
    struct msghdr m = {0};
    m.msg_iov = iov;
    m.msg_iovlen = iovcnt;
    if (to) {
      m.msg_name = (void*)to;
      m.msg_namelen = sizeof *to;
    }
    ssize_t n = sendmsg(s->fd, &m, MSG_DONTWAIT);
    if (n >= 0) return (int)n;
    int rc = errno;
    if (rc != EAGAIN && rc != EWOULDBLOCK) return -rc;
  }
  // Queued behind earlier datagrams (order kept) until the socket is writable again.
  return enqueue(s, to, iov, iovcnt);
}

// sendLater(h, address, port, buf) -> bytes accepted or -errno. The datagram leaves with the
// others gathered in this loop turn, in one sendmmsg, after the turn's callbacks have run.
static napi_value js_send_later(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[4];
  sock_t* s = sock_args(env, info, 4, &argc, argv);
  if (!s) return NULL;
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "sendLater: 4 arguments");
    return NULL;
  }
  if (s->closed || s->connected) return int_result(env, s->closed ? -EBADF : -EISCONN);
  void* data;
  size_t len;
  uint32_t port;
  struct sockaddr_in to;
  if (napi_get_buffer_info(env, argv[3], &data, &len) != napi_ok || !get_u32(env, argv[2], &port) || port > 65535 ||
      !parse_addr(env, argv[1], &to, port)) {
    napi_throw_type_error(env, NULL, "sendLater: bad arguments");
    return NULL;
  }
  if (!s->out && !(s->out = calloc(OUT_MAX, sizeof *s->out))) return int_result(env, -ENOMEM);
  char* copy = malloc(len ? len : 1);
  if (!copy) return int_result(env, -ENOMEM);
  if (len) memcpy(copy, data, len);  // an empty Buffer's data may be NULL
  s->out[s->outn].to = to;
  s->out[s->outn].iov.iov_base = copy;
  s->out[s->outn].iov.iov_len = len;
  if (++s->outn == 1) {
    uv_check_start(&s->check, on_check);
    uv_idle_start(&s->idle, on_idle);
  }
  if (s->outn == OUT_MAX) flush_out(s);
  return int_result(env, (int32_t)len);
}

// info(h) -> [localPort, queuedBytes]
static napi_value js_info(napi_env env, napi_callback_info info) {
  sock_t* s = sock_arg(env, info);
  if (!s) return NULL;
  struct sockaddr_in a = {0};
  socklen_t len = sizeof a;
  if (!s->closed) getsockname(s->fd, (struct sockaddr*)&a, &len);
  napi_value arr, v;
  CHECK(napi_create_array_with_length(env, 2, &arr));
  CHECK(napi_create_uint32(env, ntohs(a.sin_port), &v));
  CHECK(napi_set_element(env, arr, 0, v));
  CHECK(napi_create_double(env, (double)s->queued, &v));
  CHECK(napi_set_element(env, arr, 1, v));
  return arr;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  sock_t* s = sock_arg(env, info);
  if (!s) return NULL;
  close_sock(s, 0);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"onMessage", NULL, js_on_message, NULL, NULL, NULL, napi_default, NULL},
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"sendLater", NULL, js_send_later, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, js_info, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"lockstepStart", NULL, js_lockstep_start, NULL, NULL, NULL, napi_default, NULL},
      {"lockstepStop", NULL, js_lockstep_stop, NULL, NULL, NULL, napi_default, NULL},
      {"lockstepProgress", NULL, js_lockstep_progress, NULL, NULL, NULL, napi_default, NULL},
      {"lockstepRtt", NULL, js_lockstep_rtt, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
