-- 0011: DHCP now keeps the registered machines' rows (src/dhcp/boot-lookups.ts), not only their
-- UUIDs, and answers the planner's lookup by MAC from them. What the planner reads of a machine
-- (boot/resolve.ts: MAC, UUID, state, branch and action) must move the revision, so that a
-- change made by another process reaches DHCP's copy at its next refresh. action was not
-- followed: 0010's copy held no rows. The other columns (image, kernel arguments, once_pending,
-- last_seen_at) are read by the planner from the database when a machine asks for its script.
DROP TRIGGER machines_revision_update;
CREATE TRIGGER machines_revision_update AFTER UPDATE OF mac, state, branch_id, uuid, action ON machines
BEGIN UPDATE machine_revision SET rev = rev + 1 WHERE id = 1; END;
