// TFTP wire constants (RFC 1350, RFC 2347-2349, RFC 7440) and the limits this server holds.

export const OP_RRQ = 1;
export const OP_WRQ = 2;
export const OP_DATA = 3;
export const OP_ACK = 4;
export const OP_ERROR = 5;
/** RFC 2347 option acknowledgement. */
export const OP_OACK = 6;

/** RFC 1350 §5 error codes, plus 8 from RFC 2347. */
export const ERR_UNDEFINED = 0;
export const ERR_NOT_FOUND = 1;
export const ERR_ACCESS = 2;
export const ERR_DISK_FULL = 3;
export const ERR_ILLEGAL = 4;
export const ERR_UNKNOWN_TID = 5;
export const ERR_EXISTS = 6;
export const ERR_NO_USER = 7;
/** RFC 2347: the client refuses the OACK. UEFI sends it on purpose after a tsize probe. */
export const ERR_OPTION = 8;

/** RFC 1350 block size when no blksize option is negotiated. */
export const DEFAULT_BLKSIZE = 512;
/** RFC 2348 range. 65464 = 65535 - 20 (IP) - 8 (UDP) - 4 (TFTP) - 39 historical slack. */
export const MIN_BLKSIZE = 8;
export const MAX_BLKSIZE = 65464;
/** RFC 7440 range. */
export const MAX_WINDOWSIZE = 65535;
/** RFC 2349 range, seconds. */
export const MIN_TIMEOUT_S = 1;
export const MAX_TIMEOUT_S = 255;

/**
 * RFC 2347 limits a request to 512 octets. Some clients exceed it a little with long paths;
 * anything beyond this is not a real client and is refused before parsing.
 */
export const MAX_REQUEST_BYTES = 1024;
/** More option pairs than any client sends; a longer list is treated as malformed. */
export const MAX_OPTIONS = 32;
/** pxelinux/grub names are short; a longer name is not one we could have. */
export const MAX_FILENAME = 255;
