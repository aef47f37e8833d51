// NBD wire constants (NetworkBlockDevice/nbd doc/proto.md). Every number a client can send
// or receive is named here once; the comments say why a value matters to this server.

/** "NBDMAGIC": first 8 bytes of every newstyle handshake. */
export const NBDMAGIC = 0x4e42444d41474943n;
/** "IHAVEOPT": sent by the server after NBDMAGIC, and by the client before every option. */
export const IHAVEOPT = 0x49484156454f5054n;
/** Magic of every option reply (fixed newstyle). */
export const OPT_REPLY_MAGIC = 0x3e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;
export const STRUCTURED_REPLY_MAGIC = 0x668e33ef;

// Handshake flags (server → client, 16 bits).
export const FLAG_FIXED_NEWSTYLE = 1 << 0;
/** Lets a client skip the 124 zero bytes after NBD_OPT_EXPORT_NAME. */
export const FLAG_NO_ZEROES = 1 << 1;

// Client flags (client → server, 32 bits). Any other bit set: the server MUST drop the connection.
export const CLIENT_FIXED_NEWSTYLE = 1 << 0;
export const CLIENT_NO_ZEROES = 1 << 1;
export const CLIENT_KNOWN_FLAGS = CLIENT_FIXED_NEWSTYLE | CLIENT_NO_ZEROES;

// Transmission flags (16 bits).
export const TFLAG_HAS_FLAGS = 1 << 0;
export const TFLAG_READ_ONLY = 1 << 1;
/** Advertised so clients that flush (the kernel on fsync, qemu) get a cheap 0 instead of EINVAL. */
export const TFLAG_SEND_FLUSH = 1 << 2;
/** Safe: exports are immutable versions, so every connection sees the same bytes (nbdcopy then opens several). */
export const TFLAG_CAN_MULTI_CONN = 1 << 8;
export const TRANSMISSION_FLAGS = TFLAG_HAS_FLAGS | TFLAG_READ_ONLY | TFLAG_SEND_FLUSH | TFLAG_CAN_MULTI_CONN;

// Options.
export const OPT_EXPORT_NAME = 1;
export const OPT_ABORT = 2;
export const OPT_LIST = 3;
export const OPT_STARTTLS = 5;
export const OPT_INFO = 6;
export const OPT_GO = 7;
export const OPT_STRUCTURED_REPLY = 8;

// Option reply types. Errors have bit 31 set.
export const REP_ACK = 1;
export const REP_SERVER = 2;
export const REP_INFO = 3;
export const REP_ERR_UNSUP = 0x80000001;
export const REP_ERR_POLICY = 0x80000002;
export const REP_ERR_INVALID = 0x80000003;
export const REP_ERR_UNKNOWN = 0x80000006;
export const REP_ERR_SHUTDOWN = 0x80000007;
export const REP_ERR_TOO_BIG = 0x80000009;

// NBD_REP_INFO item types (INFO/GO).
export const INFO_EXPORT = 0;
export const INFO_NAME = 1;
export const INFO_DESCRIPTION = 2;
export const INFO_BLOCK_SIZE = 3;

// Commands.
export const CMD_READ = 0;
export const CMD_WRITE = 1;
export const CMD_DISC = 2;
export const CMD_FLUSH = 3;
export const CMD_TRIM = 4;
export const CMD_WRITE_ZEROES = 6;

// Command flags we tolerate: FUA (1), NO_HOLE (2), DF (4), REQ_ONE (8), FAST_ZERO (16). They are
// all no-ops for a read-only export that always answers a read with one chunk (which is what DF
// asks for). PAYLOAD_LEN (32) belongs to extended headers, which we never negotiate.
export const CMD_KNOWN_FLAGS = 0x1f;

// Structured reply chunk types and flags.
export const REPLY_FLAG_DONE = 1;
export const REPLY_TYPE_NONE = 0;
export const REPLY_TYPE_OFFSET_DATA = 1;
export const REPLY_TYPE_ERROR = 0x8001;

// Errors carried in replies (Linux errno values, fixed by the protocol).
export const EPERM = 1;
export const EIO = 5;
export const EINVAL = 22;
/** Spec: a request longer than the maximum block size gets EOVERFLOW when structured replies are on, else EINVAL. */
export const EOVERFLOW = 75;
/** Spec: server shutting down; the client must then disconnect softly. */
export const ESHUTDOWN = 108;

/** Strings (export names, messages) MUST NOT exceed 4096 bytes. */
export const MAX_STRING = 4096;
/**
 * Advertised block sizes. min 1: we serve any byte range, so clients need not align.
 * preferred 4096: the store's pad and the page size. max 32 MiB: the same bound as the
 * Linux kernel client and qemu, and the most a single read may buffer in memory.
 */
export const BLOCK_MIN = 1;
export const BLOCK_PREFERRED = 4096;
export const BLOCK_MAX = 32 * 1024 * 1024;

export const REQUEST_HEADER_SIZE = 28;
export const OPTION_HEADER_SIZE = 16;
