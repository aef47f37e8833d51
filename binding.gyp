{
  "targets": [
    {
      "target_name": "branchboot_udp",
      "sources": ["native/udp.c", "native/lockstep.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    },
    {
      "target_name": "branchboot_scan",
      "sources": ["native/scan.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    },
    {
      "target_name": "branchboot_hash",
      "sources": ["native/chunk-hash.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    },
    {
      "target_name": "branchboot_syncfs",
      "sources": ["native/syncfs.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
