-- 0007: lists newest first that stay as cheap as their page, at a district's 2,000,000 boot
-- events and 110,000 audit rows (bench/api/district.ts).
-- boot_events_branch was (branch_id, at): "a branch's events, newest first" (the API's
-- ?branch=, every branch-limited token, a branch admin's dashboard) orders by id, so SQLite
-- read all of the branch's rows (33,000) and sorted them for a page of 50: 90 ms. An index
-- on branch_id alone holds (branch_id, rowid): the page walks it backwards and stops. Same
-- width as before, so DHCP's event inserts pay no more (bench/dhcp/cpu.ts A/B in the report);
-- time windows are bounded by id (src/model/events.ts), not by this index.
DROP INDEX boot_events_branch;
CREATE INDEX boot_events_branch ON boot_events(branch_id);
-- The audit log by actor, by entity and by one entity's id (API and console filters) read the
-- whole table from the newest row when few rows matched. Each index holds the rowid, so a
-- filtered page walks it newest first. Only admins' changes write here, never the packet path.
CREATE INDEX audit_log_actor ON audit_log(actor);
CREATE INDEX audit_log_entity ON audit_log(entity);
CREATE INDEX audit_log_entity_id ON audit_log(entity_id, entity);
