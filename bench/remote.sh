#!/usr/bin/env bash
# Push and pull throughput of the remote cache: 1 GiB in 1000 files and 1 GiB in one file, to the
# local S3 server (Swift s3api, scripts/swift-s3-localhost.sh) and to a directory remote.
#
#   bash bench/remote.sh [--quick]        (--quick: 64 MiB instead of 1 GiB)
#
# Each case builds the data with a stage (so it is in the local cache), times `mlbuild push`, then
# times `mlbuild pull` (fetch, hash-verify, check out) in a second clone with an empty cache.
# Numbers come from each command's --json summary (bytes moved / wall time of the command).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MLBUILD="node $ROOT/bin/mlbuild.js"
ENDPOINT=${MLBUILD_TEST_S3_ENDPOINT:-http://127.0.0.1:8080}
export AWS_ACCESS_KEY_ID=${MLBUILD_TEST_S3_ACCESS_KEY:-test:tester} AWS_SECRET_ACCESS_KEY=${MLBUILD_TEST_S3_SECRET_KEY:-testing} AWS_REGION=us-east-1
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
MIB=1024
[ "${1:-}" = "--quick" ] && MIB=64
[ -f dist/mlbuild.js ] || npm run build >/dev/null
curl -s -o /dev/null "$ENDPOINT" || { echo "no S3 server at $ENDPOINT: run 'bash scripts/swift-s3-localhost.sh' first" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mlbuild-bench-remote.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Creates the bucket (the benchmark's own, so runs never see each other's objects).
make_bucket() {
  (cd "$ROOT" && node --input-type=module -e "
    import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
    const s3 = new S3Client({ endpoint: '$ENDPOINT', region: 'us-east-1', forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: process.argv[1] }));" "$1")
}

# field FILE KEY: a number from a --json summary.
field() { node -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); const v=process.argv[2].split(".").reduce((o,k)=>o[k],d); process.stdout.write(String(v))' "$1" "$2"; }

run_case() { # backend files
  local backend=$1 files=$2 dir="$WORK/$1-$2"
  local per=$(( MIB * 1024 * 1024 / files ))
  mkdir -p "$dir/a" && cd "$dir/a"
  git init -q -b main && git config user.email b@example.com && git config user.name bench
  cat > pipeline.yaml <<P
stages:
  data:
    cmd: node gen.mjs $files $per
    deps: [gen.mjs]
    outs: [data]
P
  cat > gen.mjs <<'G'
import fs from 'node:fs'; import crypto from 'node:crypto';
const [n, size] = process.argv.slice(2).map(Number);
fs.mkdirSync('data', { recursive: true });
for (let i = 0; i < n; i++) fs.writeFileSync(`data/part-${String(i).padStart(5, '0')}.bin`, crypto.randomBytes(size));
G
  if [ "$backend" = s3 ]; then
    local bucket="mlbuild-bench-$(date +%s)-$files"
    make_bucket "$bucket" >/dev/null 2>&1
    $MLBUILD remote add -d store "s3://$bucket/cache" >/dev/null
    $MLBUILD remote modify store endpoint_url "$ENDPOINT" >/dev/null
  else
    mkdir -p "$dir/remote"
    $MLBUILD remote add -d store "$dir/remote" >/dev/null
  fi
  $MLBUILD repro >/dev/null
  git add -A && git commit -qm data
  $MLBUILD push --json > "$dir/push.json"
  git clone -q "$dir/a" "$dir/b" && cd "$dir/b"
  $MLBUILD pull --json > "$dir/pull.json"
  cmp -s "$dir/a/data/part-00000.bin" "$dir/b/data/part-00000.bin" || { echo "pull restored different bytes" >&2; exit 1; }
  local pb=$(field "$dir/push.json" transferred.bytes) pm=$(field "$dir/push.json" elapsed_ms)
  local lb=$(field "$dir/pull.json" transferred.bytes) lm=$(field "$dir/pull.json" elapsed_ms)
  printf '| %s | %s × %s | %s s (%s MiB/s) | %s s (%s MiB/s) |\n' "$backend" "$files" "$(( per / 1024 )) KiB" \
    "$(echo "scale=1; $pm/1000" | bc)" "$(echo "scale=0; $pb*1000/$pm/1048576" | bc)" \
    "$(echo "scale=1; $lm/1000" | bc)" "$(echo "scale=0; $lb*1000/$lm/1048576" | bc)"
  cd "$ROOT" && rm -rf "$dir"
}

echo "mlbuild remote throughput, $MIB MiB per case, $(nproc) CPUs, node $(node --version), $(date -u +%Y-%m-%d)"
echo
echo '| remote | files | push | pull (fetch + verify + checkout) |'
echo '| --- | --- | --- | --- |'
for backend in s3 directory; do
  for files in 1000 1; do run_case "$backend" "$files"; done
done
