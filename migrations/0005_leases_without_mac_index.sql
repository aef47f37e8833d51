-- 0005: leases loses its index on mac. Every lease DHCP commits before its ACK inserted a key
-- at a random place in that index: one more 4 KiB page written to the WAL (and checksummed, and
-- later checkpointed) per client, measured at 8-13 µs of the packet thread per lease row, where
-- the row itself costs 6-10. Addresses are decided from DHCP's lease book in memory, never by a
-- MAC lookup in SQL; what still asks by MAC (a machine's page and /v1/machines/:mac/leases)
-- reads the whole table instead: 3-6 ms at 50,000 leases, one row per leased address.
DROP INDEX leases_mac;
