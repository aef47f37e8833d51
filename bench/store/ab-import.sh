#!/bin/sh
# A/B of `image import` between two built trees (each with dist/ from `npm run build`), with
# `casync make` (same chunking) before and after each ABBA group, so drift on a shared host hits
# all alike; `sync; sleep 1` before every run (the previous run's writeback otherwise slows the
# next by ~15 %). Run it under the bench lock (NICE=-10 to take a larger share of a busy host):
#   flock /tmp/branchboot-bench.lock sh bench/store/ab-import.sh A_DIR B_DIR IMAGE [cdc|fixed] [ROUNDS]
# Prints one line per run: variant wall_s cpu_s import_s maxrss_mb (CPU = user + sys of the
# command and its children; import_s = the CLI's own figure, without node start; casync: wall).
set -eu
A=$1 B=$2 IMG=$3 CHUNKER=${4:-cdc} ROUNDS=${5:-3}
WORK=${BENCH_AB_DIR:-/tmp/bb-ab-import}
NICE=${NICE:-0}
fresh() { rm -rf "$WORK"; mkdir -p "$WORK"; sync; sleep 1; }
bb() {
  fresh
  BRANCHBOOT_DATA_DIR=$WORK BRANCHBOOT_LOG_LEVEL=warn nice -n "$NICE" /usr/bin/time -f '%e %U %S' -o "$WORK.time" \
    node "$1/dist/cli.js" image import "$IMG" --name ab --chunker "$CHUNKER" --json > "$WORK.json"
  node -e 'const fs=require("fs");const [w,u,s]=fs.readFileSync(process.argv[1]+".time","utf8").trim().split("\n").pop().split(" ").map(Number);const j=JSON.parse(fs.readFileSync(process.argv[1]+".json","utf8"));console.log(process.argv[2],w.toFixed(2),(u+s).toFixed(2),Number(j.seconds).toFixed(2),j.maxRssMB??"")' "$WORK" "$2"
}
ca() {
  fresh
  if [ "$CHUNKER" = fixed ]; then SIZE=--chunk-size=262144:262144:262144; else SIZE=--chunk-size=16384:65536:262144; fi
  nice -n "$NICE" /usr/bin/time -f '%e %U %S' -o "$WORK.time" casync make "$SIZE" --store="$WORK/castr" "$WORK/x.caibx" "$IMG" > /dev/null
  awk '{printf "casync %.2f %.2f %.2f\n", $1, $2 + $3, $1}' "$WORK.time" | tail -1
}
i=0
while [ $i -lt "$ROUNDS" ]; do
  ca; bb "$A" A; bb "$B" B; bb "$B" B; bb "$A" A; ca
  i=$((i + 1))
done
rm -rf "$WORK" "$WORK.time" "$WORK.json"
