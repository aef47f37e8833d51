-- 0010: a counter that every change DHCP's copy of the machines table must not miss moves by one,
-- in the same transaction as the change. DHCP answers a boot storm's new machines from what it
-- holds of the table (src/dhcp/boot-lookups.ts: the MACs, the registered machines' UUIDs) and
-- follows the table by its rows' updated_at; a row written by another process with an updated_at
-- older than the newest one DHCP had already read (an apply's long transaction during a storm)
-- was then never seen. When this counter moved, DHCP reads those MACs and UUIDs again in full.
-- The storm's own inserts (discovered machines, written by DHCP) do not move it, so they cost a
-- WHEN test, not a write.
CREATE TABLE machine_revision (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  rev  INTEGER NOT NULL
);
INSERT INTO machine_revision (id, rev) VALUES (1, 0);
CREATE TRIGGER machines_revision_insert AFTER INSERT ON machines WHEN NEW.state = 'registered'
BEGIN UPDATE machine_revision SET rev = rev + 1 WHERE id = 1; END;
CREATE TRIGGER machines_revision_update AFTER UPDATE OF mac, state, branch_id, uuid ON machines
BEGIN UPDATE machine_revision SET rev = rev + 1 WHERE id = 1; END;
CREATE TRIGGER machines_revision_delete AFTER DELETE ON machines
BEGIN UPDATE machine_revision SET rev = rev + 1 WHERE id = 1; END;
