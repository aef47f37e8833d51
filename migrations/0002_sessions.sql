-- 0002: console sessions. The cookie carries a random id; only its SHA-256 is stored, so a
-- copy of the database does not hand out live sessions. Each session has its own CSRF token.
CREATE TABLE sessions (
  id              TEXT    PRIMARY KEY,               -- sha256 hex of the cookie value
  user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf            TEXT    NOT NULL,                  -- token every form must echo
  ip              TEXT    NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,
  last_seen_at    INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);
