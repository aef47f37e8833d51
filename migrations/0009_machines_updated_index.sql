-- 0009: the DHCP server re-reads its subnets every 5 s and asks which machines changed since
-- the last read (src/dhcp/sightings.ts: their count and latest update, then the MACs updated
-- since), on the thread that answers packets. Without an index both read the whole table, which
-- a district's storm of new machines grows by one row per client. New rows land at the index's
-- right end (updated_at is the insert time), so a discovered machine's insert pays little.
CREATE INDEX machines_updated ON machines(updated_at);
