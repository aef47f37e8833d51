-- 0001: the inventory (branches, subnets, machines, images), what the protocols record
-- (leases, boot events), and who may change it (users, tokens, audit log).
-- Times are integer milliseconds since the epoch (UTC); JSON columns hold small lists.

CREATE TABLE branches (
  id              INTEGER PRIMARY KEY,
  name            TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
  description     TEXT    NOT NULL DEFAULT '',
  -- What a machine of this branch boots when its own row says nothing.
  default_image   TEXT,                              -- "name" or "name@version"
  default_action  TEXT    NOT NULL DEFAULT 'image'
                  CHECK (default_action IN ('image', 'local', 'menu', 'once')),
  transport       TEXT    CHECK (transport IN ('http', 'http-lazy', 'nfs', 'cifs', 'nbd')),
  kernel_args     TEXT    NOT NULL DEFAULT '',
  menu_images     TEXT    NOT NULL DEFAULT '[]',     -- JSON list of image names the menu offers
  menu_timeout_s  INTEGER NOT NULL DEFAULT 10 CHECK (menu_timeout_s BETWEEN 0 AND 3600),
  -- The branch's own servers, so its desktops never cross the uplink for what it has.
  server_http     TEXT,                              -- http://host:port
  server_tftp     TEXT,                              -- host
  server_nbd      TEXT,                              -- host:port
  server_nfs      TEXT,                              -- host:/export
  server_cifs     TEXT,                              -- //host/share
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);

CREATE TABLE subnets (
  id              INTEGER PRIMARY KEY,
  branch_id       INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
  cidr            TEXT    NOT NULL UNIQUE,
  dhcp_mode       TEXT    NOT NULL DEFAULT 'off' CHECK (dhcp_mode IN ('off', 'authoritative', 'proxy')),
  ranges          TEXT    NOT NULL DEFAULT '[]',     -- JSON list of "first-last"
  exclusions      TEXT    NOT NULL DEFAULT '[]',     -- JSON list of "ip" or "first-last"
  gateway         TEXT,
  dns             TEXT    NOT NULL DEFAULT '[]',     -- JSON list of addresses
  domain          TEXT,
  lease_seconds   INTEGER NOT NULL DEFAULT 3600 CHECK (lease_seconds BETWEEN 60 AND 31536000),
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX subnets_branch ON subnets(branch_id);

CREATE TABLE images (
  id              INTEGER PRIMARY KEY,
  name            TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
  description     TEXT    NOT NULL DEFAULT '',
  flavor          TEXT    NOT NULL DEFAULT 'custom'
                  CHECK (flavor IN ('casper', 'live-boot', 'dracut', 'nbd-root', 'custom')),
  transport       TEXT    CHECK (transport IN ('http', 'http-lazy', 'nfs', 'cifs', 'nbd')),
  kernel_args     TEXT    NOT NULL DEFAULT '',
  current_version INTEGER,                           -- image_versions.version; NULL = newest ready
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);

CREATE TABLE image_versions (
  id              INTEGER PRIMARY KEY,
  image_id        INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  version         INTEGER NOT NULL CHECK (version >= 1),
  state           TEXT    NOT NULL DEFAULT 'importing'
                  CHECK (state IN ('importing', 'ready', 'failed', 'removed')),
  flavor          TEXT    CHECK (flavor IN ('casper', 'live-boot', 'dracut', 'nbd-root', 'custom')),
  transport       TEXT    CHECK (transport IN ('http', 'http-lazy', 'nfs', 'cifs', 'nbd')),
  kernel_args     TEXT,                              -- NULL = the image's
  source          TEXT    NOT NULL DEFAULT '',       -- what it was imported from
  root_kind       TEXT,                              -- squashfs | ext4 | disk | iso-squashfs | …
  root_file       TEXT,                              -- name the flavor expects (filesystem.squashfs, …)
  size_bytes      INTEGER NOT NULL DEFAULT 0,
  index_file      TEXT,                              -- store-relative path of the .caibx
  kernel_blob     TEXT,                              -- store-relative path
  initrd_blob     TEXT,
  chunker         TEXT,                              -- "fixed:262144" | "cdc:16384:65536:262144"
  chunks_total    INTEGER NOT NULL DEFAULT 0,
  chunks_new      INTEGER NOT NULL DEFAULT 0,
  bytes_stored    INTEGER NOT NULL DEFAULT 0,        -- compressed bytes of all its chunks
  bytes_new       INTEGER NOT NULL DEFAULT 0,        -- compressed bytes this version added
  template        TEXT,                              -- optional iPXE template override
  error           TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  UNIQUE (image_id, version)
);

CREATE TABLE machines (
  id              INTEGER PRIMARY KEY,
  mac             TEXT    NOT NULL UNIQUE CHECK (length(mac) = 17),   -- aa:bb:cc:dd:ee:ff
  hostname        TEXT,
  branch_id       INTEGER REFERENCES branches(id) ON DELETE SET NULL,
  state           TEXT    NOT NULL DEFAULT 'registered' CHECK (state IN ('registered', 'discovered')),
  fixed_ip        TEXT,
  image_id        INTEGER REFERENCES images(id) ON DELETE SET NULL,
  image_version   INTEGER,                           -- pin; NULL = the image's current version
  action          TEXT    CHECK (action IN ('image', 'local', 'menu', 'once')),   -- NULL = branch's
  once_pending    INTEGER NOT NULL DEFAULT 0,        -- action 'once': 1 until the root was fetched
  transport       TEXT    CHECK (transport IN ('http', 'http-lazy', 'nfs', 'cifs', 'nbd')),
  kernel_args     TEXT    NOT NULL DEFAULT '',
  uuid            TEXT,                              -- option 97 (SMBIOS UUID)
  last_arch       INTEGER,                           -- option 93
  last_firmware   TEXT,                              -- bios | uefi | uefi-http | ipxe …
  relay_circuit   TEXT,                              -- option 82.1 (hex)
  relay_remote    TEXT,                              -- option 82.2 (hex)
  last_seen_at    INTEGER,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX machines_branch ON machines(branch_id, hostname);
CREATE UNIQUE INDEX machines_fixed_ip ON machines(fixed_ip) WHERE fixed_ip IS NOT NULL;

CREATE TABLE leases (
  id              INTEGER PRIMARY KEY,
  subnet_id       INTEGER NOT NULL REFERENCES subnets(id) ON DELETE CASCADE,
  ip              TEXT    NOT NULL,
  mac             TEXT    NOT NULL,
  client_id       TEXT,                              -- option 61 (hex)
  hostname        TEXT,
  state           TEXT    NOT NULL CHECK (state IN ('offered', 'bound', 'released', 'declined', 'expired')),
  expires_at      INTEGER NOT NULL,
  relay_circuit   TEXT,
  relay_remote    TEXT,
  updated_at      INTEGER NOT NULL,
  UNIQUE (subnet_id, ip)
);
CREATE INDEX leases_mac ON leases(mac);

CREATE TABLE boot_events (
  id              INTEGER PRIMARY KEY,
  at              INTEGER NOT NULL,
  mac             TEXT,
  ip              TEXT,
  branch_id       INTEGER REFERENCES branches(id) ON DELETE SET NULL,
  stage           TEXT    NOT NULL,                  -- dhcp.discover, tftp.file, http.script, kernel, root, nbd.connect, error …
  detail          TEXT    NOT NULL DEFAULT '{}'      -- JSON
);
CREATE INDEX boot_events_mac ON boot_events(mac, at);
CREATE INDEX boot_events_branch ON boot_events(branch_id, at);
CREATE INDEX boot_events_at ON boot_events(at);

CREATE TABLE users (
  id              INTEGER PRIMARY KEY,
  username        TEXT    NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
  password_hash   TEXT    NOT NULL,                  -- scrypt$N$r$p$salt$hash
  role            TEXT    NOT NULL CHECK (role IN ('admin', 'branch_admin', 'viewer')),
  disabled        INTEGER NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);

CREATE TABLE user_branches (
  user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  branch_id       INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, branch_id)
);

CREATE TABLE api_tokens (
  id              INTEGER PRIMARY KEY,
  name            TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
  token_hash      TEXT    NOT NULL UNIQUE,           -- sha256 hex of the whole token
  prefix          TEXT    NOT NULL,                  -- first characters, to recognise it in lists
  scopes          TEXT    NOT NULL DEFAULT '["read"]',   -- JSON subset of read, write, admin
  branch_id       INTEGER REFERENCES branches(id) ON DELETE CASCADE,   -- NULL = every branch
  created_by      TEXT    NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,
  last_used_at    INTEGER,
  revoked_at      INTEGER
);

CREATE TABLE audit_log (
  id              INTEGER PRIMARY KEY,
  at              INTEGER NOT NULL,
  actor           TEXT    NOT NULL,                  -- user:NAME, token:NAME, cli
  action          TEXT    NOT NULL,                  -- create, update, delete, apply …
  entity          TEXT    NOT NULL,                  -- branch, machine, image …
  entity_id       TEXT,
  before          TEXT,                              -- JSON or NULL
  after           TEXT                               -- JSON or NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
