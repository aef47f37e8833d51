// syncfs(2) of the file system holding an open file, run on libuv's thread pool: a promise of the
// errno (0 when done). Node has no syncfs; the import spawned `sync -f` (a process per call, ~10 ms
// of the main thread), and it now starts the store's writeback early and often while chunks are
// still being hashed and compressed (src/store/store-sync.ts), which a process per call makes dear.
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
  int fd;
  int err;
  napi_deferred deferred;
  napi_async_work work;
} job_t;

static void execute(napi_env env, void* data) {
  job_t* j = data;
  j->err = syncfs(j->fd) == 0 ? 0 : errno;
}

static void complete(napi_env env, napi_status status, void* data) {
  job_t* j = data;
  napi_value v;
  // ECANCELED: the work never ran (the environment is going away).
  napi_create_int32(env, status == napi_ok ? j->err : ECANCELED, &v);
  napi_resolve_deferred(env, j->deferred, v);
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value js_syncfs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], name, promise;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int32_t fd;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "syncfs: fd must be an open file descriptor");
    return NULL;
  }
  job_t* j = calloc(1, sizeof *j);
  if (!j) {
    napi_throw_error(env, NULL, "syncfs: out of memory");
    return NULL;
  }
  j->fd = fd;
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "branchboot:syncfs", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, j, &j->work) != napi_ok) {
    free(j);
    return NULL;
  }
  if (napi_queue_async_work(env, j->work) != napi_ok) {
    napi_delete_async_work(env, j->work);
    free(j);
    return NULL;
  }
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "syncfs", NAPI_AUTO_LENGTH, js_syncfs, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "syncfs", fn) != napi_ok)
    return NULL;
  return exports;
}
