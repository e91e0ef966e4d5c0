#!/usr/bin/env bash
# Hashing throughput: mlbuild's hasher against `xxhsum -H1` (and `cat`, the read floor) on the same
# files, page cache warm, with a cold and a warm stat cache.
#
#   bash bench/hash.sh [--files 4] [--mib 512] [--runs 5]
#
# It builds a one-stage project whose dep is a directory of FILES random files of MIB MiB each
# (under bench/out/hash/, gitignored), runs it once, then times `mlbuild status` (which must hash
# the dep to compare it with the lockfile) with hyperfine:
#   cold, 1 thread  stat cache (and the fresh snapshot, which would answer without hashing) deleted
#                   before each run; big files hashed on the main thread (default)
#   cold, workers   the same with MLBUILD_HASH_WORKERS=2 (two worker threads, opt-in)
#   warm            stat cache kept (fresh snapshot deleted): nothing is read
# Throughput = bytes / (median time - median warm time), so node's start-up and the status work
# itself are not counted against the hasher. Prints a Markdown table (also bench/out/hash/RESULTS.md).
# Needs hyperfine and xxhsum (`apt-get install -y hyperfine xxhash`).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
FILES=4 MIB=512 RUNS=5
while [ $# -gt 0 ]; do
  case "$1" in
    --files) FILES=$2; shift ;;
    --mib) MIB=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "hash.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
for t in hyperfine xxhsum; do command -v $t >/dev/null || { echo "hash.sh: needs $t (apt-get install -y hyperfine xxhash)" >&2; exit 2; }; done

DIR="$HERE/out/hash"
MLBUILD="node $ROOT/bin/mlbuild.js"
mkdir -p "$DIR/data"
cd "$DIR"
for i in $(seq 1 "$FILES"); do
  f="data/f$i.bin"
  if [ "$(stat -c %s "$f" 2>/dev/null || echo 0)" != $((MIB << 20)) ]; then head -c "$((MIB << 20))" /dev/urandom > "$f"; fi
done
# Old mtimes: the stat cache does not trust files modified in the last 2 s (racy-clean guard).
touch -d '2020-01-01' data/*.bin
printf 'stages:\n  use:\n    cmd: echo ok > used.txt\n    deps: [data]\n    outs: [used.txt]\n' > pipeline.yaml
[ -d .git ] || { git init -q && git config user.email b@x && git config user.name bench; }
$MLBUILD repro >/dev/null
cat data/*.bin > /dev/null   # warm the page cache
BYTES=$((FILES * MIB << 20))

hyperfine -N --warmup 1 --runs "$RUNS" --export-json times.json \
  --prepare 'true' -n 'cat (read floor)' "cat $(echo data/*.bin)" \
  --prepare 'true' -n 'xxhsum -H1' "xxhsum -H1 $(echo data/*.bin)" \
  --prepare 'rm -f .mlcache/state/stat-cache.db .mlcache/state/fresh-snapshot.bin' -n 'mlbuild status, cold stat cache, 1 thread' "$MLBUILD status" \
  --prepare 'rm -f .mlcache/state/stat-cache.db .mlcache/state/fresh-snapshot.bin' -n 'mlbuild status, cold stat cache, 2 workers' "env MLBUILD_HASH_WORKERS=2 $MLBUILD status" \
  --prepare 'rm -f .mlcache/state/fresh-snapshot.bin' -n 'mlbuild status, warm stat cache' "$MLBUILD status" >/dev/null

node - "$BYTES" "$FILES" "$MIB" <<'EOF' | tee RESULTS.md
const fs = require('fs');
const [bytes, files, mib] = process.argv.slice(2).map(Number);
const r = JSON.parse(fs.readFileSync('times.json', 'utf8')).results;
const med = (x) => x.median;
const warm = med(r.find((x) => x.command.includes('warm')));
const cores = require('os').availableParallelism();
console.log(`Hashing ${files} x ${mib} MiB (page cache warm), ${cores} cores, ${new Date().toISOString().slice(0, 10)}; median of the runs.\n`);
console.log('| what | median | min-max | CPU (user+sys, mean) | throughput |');
console.log('| --- | ---: | --- | ---: | ---: |');
for (const x of r) {
  const t = x.command.startsWith('mlbuild') && !x.command.includes('warm') ? med(x) - warm : med(x);
  const gbs = x.command.includes('warm') ? '(no read)' : `${(bytes / t / 1e9).toFixed(2)} GB/s`;
  const cpu = `${((x.user + x.system) * 1000).toFixed(0)} ms`;
  console.log(`| ${x.command} | ${(med(x) * 1000).toFixed(0)} ms | ${(x.min * 1000).toFixed(0)}-${(x.max * 1000).toFixed(0)} ms | ${cpu} | ${gbs} |`);
}
console.log('\nmlbuild throughputs subtract the warm `status` time (node start-up and the status work itself). CPU is the whole process (worker threads and libuv\'s read threads included); on a loaded machine it is the steadier number.');
EOF
