-- 0004: boot_events loses its index on (at). Each boot event row paid for three index inserts on
-- DHCP's packet thread; ids are given in insertion order, so "recent events" queries order by id
-- and bound the scan by the id of the newest row older than their window (src/model/events.ts),
-- reading about as many rows as the index did. By MAC and by branch still have their indexes.
DROP INDEX boot_events_at;
