-- 0006: a lease outlives its subnet row. leases.subnet_id was ON DELETE CASCADE: an apply
-- --prune that dropped a branch (or a subnet deleted in the API or console) deleted the leases
-- of its clients, who keep using their addresses until those leases end; after a restart the
-- subnet, added again, offered them to other MACs. Now the row stays with subnet_id NULL (an
-- "orphan"); DHCP adopts the unexpired ones inside a subnet added later (src/dhcp/index.ts,
-- LeaseBook.adopt) and deletes orphans that expired. Not a plain column of the old id: ids are
-- reused after a delete, and another subnet would then claim those rows.
-- SQLite cannot change a foreign key in place: the table is rebuilt, every row kept (a row
-- whose subnet is missing, written with foreign keys off, becomes an orphan rather than an
-- error). No index on mac (0005).
CREATE TABLE leases_0006 (
  id              INTEGER PRIMARY KEY,
  subnet_id       INTEGER REFERENCES subnets(id) ON DELETE SET NULL,   -- NULL: its subnet was deleted
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
INSERT INTO leases_0006 (id, subnet_id, ip, mac, client_id, hostname, state, expires_at, relay_circuit, relay_remote, updated_at)
  SELECT id, CASE WHEN EXISTS (SELECT 1 FROM subnets s WHERE s.id = leases.subnet_id) THEN subnet_id END,
         ip, mac, client_id, hostname, state, expires_at, relay_circuit, relay_remote, updated_at
  FROM leases;
DROP TABLE leases;
ALTER TABLE leases_0006 RENAME TO leases;
