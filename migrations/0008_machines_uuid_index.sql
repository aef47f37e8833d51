-- 0008: the boot planner looks a client up by its SMBIOS UUID (option 97) whenever its MAC is
-- unknown or only discovered: every PXE ROM's DISCOVER and REQUEST in a boot storm of new
-- machines. Without an index that read the whole machines table per packet, which grows by one
-- discovered row per new client: 10,000 PXE clients took ~950 µs of the packet thread per DORA
-- against ~50 for clients without PXE options (bench/dhcp/cpu.ts with BENCH_DHCP_CLIENTS=pxe).
-- Partial: only registered machines are looked up by UUID, so the discovered rows the DHCP
-- server inserts during a storm pay nothing for it.
CREATE INDEX machines_uuid ON machines(uuid) WHERE state = 'registered' AND uuid IS NOT NULL;
