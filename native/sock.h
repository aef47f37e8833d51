// What native/udp.c and native/lockstep.c share: the socket's state and the calls one makes
// on the other.
#ifndef BRANCHBOOT_SOCK_H
#define BRANCHBOOT_SOCK_H
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// Bytes a socket may hold in its send queue before further sends are refused (ENOBUFS).
#define MAX_QUEUED (8u << 20)
// recvmmsg calls per wake-up of a socket.
#define READ_ROUNDS 4
// Datagrams gathered by sendLater before one sendmmsg.
#define OUT_MAX 64

typedef struct {
  struct sockaddr_in to;
  struct iovec iov;
} out_t;

typedef struct pending {
  struct pending* next;
  struct sockaddr_in to;
  int has_to;
  size_t len;
  char data[];
} pending_t;

typedef struct {
  napi_env env;
  int fd;
  uv_poll_t poll;
  uv_check_t check;  // flushes sendLater's datagrams after this loop turn's callbacks
  uv_idle_t idle;    // active while some wait: the loop then polls without blocking
  // libuv handles not yet closed, plus one for the JavaScript external: the memory goes when
  // both are gone, so a call on a closed socket (a second close) never reads freed memory.
  int refs;
  int poll_events;
  int connected;
  int closed;
  napi_ref self;        // the external, kept alive while the socket is open
  napi_ref on_message;  // function(buf, address, port, local)
  napi_async_context actx;
  unsigned batch;
  size_t max_packet;
  char* rbuf;
  struct mmsghdr* msgs;
  struct iovec* iovs;
  struct sockaddr_in* froms;
  // IP_PKTINFO control data, a slot per message of a batch (only when asked for): which of our
  // addresses a datagram reached, the only way to tell the interface of a broadcast.
  char* ctrl;
  pending_t *head, *tail;
  size_t queued;
  out_t* out;
  unsigned outn;
  // A TFTP transfer's lock-step relay (native/lockstep.c), or NULL.
  struct lockstep* lockstep;
} sock_t;

// Sends one datagram now, or queues a copy behind a full buffer (order kept): bytes sent, 0
// when queued, or a negative errno (the datagram is lost, as on the wire).
int sock_send(sock_t* s, const struct sockaddr_in* to, struct iovec* iov, int iovcnt);
sock_t* sock_args(napi_env env, napi_callback_info info, size_t want, size_t* argc, napi_value* argv);
// The handle of a call whose only argument it is.
sock_t* sock_arg(napi_env env, napi_callback_info info);

// native/lockstep.c
napi_value js_lockstep_start(napi_env env, napi_callback_info info);
napi_value js_lockstep_stop(napi_env env, napi_callback_info info);
napi_value js_lockstep_progress(napi_env env, napi_callback_info info);
napi_value js_lockstep_rtt(napi_env env, napi_callback_info info);
// Handles the datagrams of a batch it can (ACKs of a lock-step transfer, answered with the next
// block) and returns the index of the first one JavaScript must get: count when none.
unsigned lockstep_filter(sock_t* s, unsigned count);
void lockstep_free(napi_env env, sock_t* s, int env_alive);

#endif

