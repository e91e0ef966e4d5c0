#!/usr/bin/env bash
# mlbuild vs make vs ninja (vs snakemake): wall-clock benchmarks with hyperfine.
#
#   bash bench/run.sh            full mode: 100 and 1 000 stages + the no-op profile (11-16 min)
#   bash bench/run.sh --quick    smoke test: 100 stages, fewer runs (< 1 min)
#   options: --big               also the "16 stages over 4 x 512 MiB inputs" scenario (8 GiB disk)
#            --snakemake         also time snakemake on the 100-stage scenario (slow to start)
#            --10k               also the 10 000-stage no-op scenario (one untimed full build per
#                                tool first: several minutes more)
#            --runs N            timed runs per measurement (default 5 full, 2 quick; no-ops get 2N)
#            --only LIST         run only these parts (comma-separated: floor, s100, s1000, profile,
#                                s10000, big) and keep the other results already in bench/out/results,
#                                e.g. `--only big` adds the big scenario to the last full run's table
#
# From a fresh clone: `npm ci && bash bench/run.sh`. Needs hyperfine, GNU make and ninja
# (`apt-get update && apt-get install -y hyperfine ninja-build make`). Everything it generates
# goes under bench/out/ (gitignored); it ends by writing bench/RESULTS.md.
#
# For each scenario, bench/gen.mjs writes one project, which is copied once per tool so that no
# tool ever sees another's outputs or state. Then, per tool, in this order:
#   clean   full build from clean      (--prepare deletes outs + the tool's state)
#   noop    nothing changed            (after a build and a 2.5 s pause: mlbuild's stat cache does
#                                       not trust mtimes younger than 2 s, see stat-cache.ts)
#   status  `mlbuild status` on the no-op state (mlbuild only)
#   leaf    one leaf input changed     (--prepare rewrites it: the fewest stages rerun, 1 here)
#   root    the root input changed     (--prepare rewrites it: most stages rerun)
# Every tool runs with 2 jobs (this machine has 2 cores). Between the timed measurements the script
# checks correctness, untimed: same outputs as make after a clean build, no-op really does nothing,
# a leaf/root change reruns exactly the stages downstream of it, and the final outputs equal a
# forced full rebuild of the same inputs. Failures are listed in RESULTS.md (and make the exit 1).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
OUT="$HERE/out"
RES="$OUT/results"
MLBUILD="$ROOT/bin/mlbuild"   # replaced by a snapshot below

ARGS="$*"
MODE=full
BIG=0
SNAKE=0
TENK=0
RUNS=""
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) MODE=quick ;;
    --big) BIG=1 ;;
    --snakemake) SNAKE=1 ;;
    --10k) TENK=1 ;;
    --runs) RUNS=${2:?--runs needs a number}; shift ;;
    --only) ONLY=",${2:?--only needs a list, e.g. s100,big},"; shift ;;
    -h|--help) sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$RUNS" ]; then if [ "$MODE" = quick ]; then RUNS=2; else RUNS=5; fi; fi
WARMUP=1
NOOP_RUNS=$((RUNS * 2))
# Quick mode skips hyperfine's warm-up of the cases with a --prepare (clean, leaf, root): the
# prepare puts every run in the same state, leaf and root get an untimed counted build just
# before (see scenario), and a warm-up would add half the time of the smoke test.
HEAVY_WARMUP=1; if [ "$MODE" = quick ]; then HEAVY_WARMUP=0; fi

# ------------------------------------------------------------------ tools

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "run.sh: '$1' is not installed. $2" >&2; exit 1; }
}
need hyperfine "Install it with: apt-get update && apt-get install -y hyperfine (or: cargo install hyperfine)"
need make "Install it with: apt-get install -y make"
need ninja "Install it with: apt-get install -y ninja-build"
need node "Node.js 20 is required."
need git "Install it with: apt-get install -y git"
need cksum "cksum is part of coreutils."
if [ "$BIG" = 1 ] || [[ "$ONLY" == *",big,"* ]]; then need xxhsum "Install it with: apt-get install -y xxhash (the big scenario's yardstick)"; fi
if [ "$SNAKE" = 1 ]; then need snakemake "Install it with: apt-get install -y snakemake (or drop --snakemake)"; fi

# Build the CLI if dist/ is missing or older than a source file.
if [ ! -f "$ROOT/dist/mlbuild.js" ] || [ -n "$(find "$ROOT/src" "$ROOT/scripts" -newer "$ROOT/dist/mlbuild.js" -type f -print -quit)" ]; then
  echo "== building the CLI (npm run build)"
  (cd "$ROOT" && npm run build --silent)
fi

# wanted PART: is this part of the run selected (all are, without --only)?
wanted() { [ -z "$ONLY" ] || [[ "$ONLY" == *",$1,"* ]]; }
if [ -z "$ONLY" ]; then
  rm -rf "$RES"
else
  # Keep the other parts' results; drop the selected parts' old ones.
  mkdir -p "$RES"
  for part in ${ONLY//,/ }; do
    rm -f "$RES/$part".*
    [ -f "$RES/checks.txt" ] && { grep -vE "^(OK|FAIL) $part[/.]" "$RES/checks.txt" > "$RES/checks.tmp" || true; mv "$RES/checks.tmp" "$RES/checks.txt"; }
  done
fi
mkdir -p "$RES"
# Run a snapshot of the CLI (bin/ + dist/ are self-contained: dependencies are bundled), so a
# rebuild of dist/ by someone else during the run cannot swap the code under measurement.
rm -rf "$OUT/cli" && mkdir -p "$OUT/cli" && cp -a "$ROOT/bin" "$ROOT/dist" "$ROOT/package.json" "$OUT/cli/"
# Run as users run it: the launcher package.json names (npx mlbuild, an installed bin), which
# starts repro and status from the V8 startup snapshot in dist/snapshot/ (see bin/mlbuild).
MLBUILD="$OUT/cli/bin/mlbuild"
{
  echo "commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "uncommitted files under src/: $(git -C "$ROOT" status --porcelain -- src 2>/dev/null | wc -l)"
  echo "dist/mlbuild.js built $(date -u -r "$ROOT/dist/mlbuild.js" '+%Y-%m-%d %H:%M UTC')"
} > "$RES/cli-version"
cat /proc/loadavg > "$RES/loadavg-start"
echo "$MODE" > "$RES/mode"
START=$SECONDS
touch "$RES/checks.txt"

log() { printf '%s\n' "$*" | tee -a "$RES/log.txt"; }
check() { # check OK|FAIL message...
  local status=$1; shift
  printf '%s %s\n' "$status" "$*" >> "$RES/checks.txt"
  [ "$status" = OK ] && log "   ok: $*" || log "   FAIL: $*"
}
meta() { node -e 'const m=require(process.argv[1]); process.stdout.write(String(m[process.argv[2]]))' "$1/bench.json" "$2"; }

# The build command of each tool (run in the project folder).
tool_cmd() {
  case "$1" in
    make) echo "make -j2" ;;
    ninja) echo "ninja -j2" ;;
    mlbuild) echo "$MLBUILD repro -j 2" ;;
    snakemake) echo "snakemake --cores 2 --quiet" ;;
  esac
}

# bench ID DIR COMMAND [PREPARE] [RUNS] [WARMUP]: one hyperfine measurement, exported as $RES/ID.json.
# -N (no intermediate shell): commands are plain argv, so nothing needs subtracting.
bench() {
  local id=$1 dir=$2 cmd=$3 prep=${4:-} runs=${5:-$RUNS} warmup=${6:-$WARMUP}
  # The tool's output goes to a file (the last run's is kept: on a failure, the failing run's).
  local args=(-N --style basic --warmup "$warmup" --runs "$runs" --export-json "$RES/$id.json" --command-name "$id" --output "$RES/$id.out")
  [ -n "$prep" ] && args+=(--prepare "$prep")
  if (cd "$dir" && hyperfine "${args[@]}" "$cmd") > "$RES/$id.txt" 2>&1; then
    log "   $(grep -m1 'Time' "$RES/$id.txt" | sed 's/^ *//')   [$id]"
  else
    check FAIL "$id: hyperfine failed, the command exited non-zero (its output: bench/out/results/$id.out)"
    tail -5 "$RES/$id.txt" "$RES/$id.out" 2>/dev/null | sed 's/^/      /'
  fi
}

# rss ID DIR COMMAND: peak resident set size (KiB) of COMMAND, one line per run ($RUNS runs, GNU
# time's %M of the whole process: mlbuild's own, or the tool's), written to $RES/ID.rss.
rss() {
  local id=$1 dir=$2 cmd=$3 i
  : > "$RES/$id.rss"
  for ((i = 0; i < RUNS; i++)); do
    (cd "$dir" && /usr/bin/time -f '%M' -o "$RES/$id.rss.one" $cmd > /dev/null 2>&1) || { check FAIL "$id: the command failed while measuring its memory"; return; }
    cat "$RES/$id.rss.one" >> "$RES/$id.rss"
  done
  rm -f "$RES/$id.rss.one"
}

# How many stages a build ran, from the tool's own output (stdin).
count_ran() {
  case "$1" in
    make) grep -c '> out/' || true ;;                    # make echoes each recipe
    ninja) grep -cE '^\[[0-9]+/[0-9]+\]' || true ;;       # ninja prints [i/n] per edge
    mlbuild) node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(j.stages.filter(x=>x.outcome==="succeeded").length)})' ;;
    snakemake) grep -c '^rule ' || true ;;
  esac
}
build_counting() { # build_counting TOOL DIR -> prints the number of stages run
  local tool=$1 dir=$2
  case "$tool" in
    mlbuild) (cd "$dir" && $MLBUILD repro -j 2 --json) | count_ran mlbuild ;;
    snakemake) (cd "$dir" && snakemake --cores 2 2>&1) | count_ran snakemake ;;
    *) (cd "$dir" && $(tool_cmd "$tool") 2>&1) | count_ran "$tool" ;;
  esac
}

# ------------------------------------------------------------------ one scenario

# generate NAME GEN-ARGS...: writes the project into $OUT/NAME/base, and keeps its description and
# the CLI version it is measured with beside the results.
generate() {
  local name=$1; shift
  mkdir -p "$OUT/$name"
  node "$HERE/gen.mjs" --out "$OUT/$name/base" --force "$@" | tee -a "$RES/log.txt"
  cp "$OUT/$name/base/bench.json" "$RES/$name.bench.json"
  cp "$RES/cli-version" "$RES/$name.cli-version"
}

# scenario NAME TOOLS GEN-ARGS...: generate, copy per tool, time every case, check correctness.
scenario() {
  local name=$1 tools=$2; shift 2
  local base="$OUT/$name/base"
  log ""
  log "== scenario $name ($*)"
  generate "$name" "$@"
  local leaf root leafN rootN n
  leaf=$(meta "$base" leafInput); root=$(meta "$base" rootInput)
  leafN=$(meta "$base" leafReruns); rootN=$(meta "$base" rootReruns); n=$(meta "$base" stages)

  local ref=""
  for tool in $tools; do
    local dir="$OUT/$name/$tool"
    rm -rf "$dir" && cp -a "$base" "$dir"
    local cmd prep="bash $HERE/prep.sh"
    cmd=$(tool_cmd "$tool")
    log "-- $tool"

    if [ "$name" = big ] && [ "$tool" = mlbuild ]; then
      # The big target's yardstick, just before mlbuild's full builds: xxhsum -H1 (XXH64, the hash
      # mlbuild records) over the same inputs, page cache warm as for the builds.
      bench "$name.hash.xxhsum" "$dir" "xxhsum -H1 $(cd "$dir" && find inputs -name '*.bin' | sort | tr '\n' ' ')" "" "$RUNS"
    fi
    bench "$name.clean.$tool" "$dir" "$cmd" "$prep clean $tool" "$RUNS" "$HEAVY_WARMUP"
    # Same outputs as the first tool (make) for the same, untouched inputs: keep a copy of its
    # outs now, since the leaf/root cases below rewrite its inputs.
    if [ -z "$ref" ]; then
      ref=$tool
      rm -rf "$OUT/$name/ref-out" && cp -a "$dir/out" "$OUT/$name/ref-out"
    elif diff -rq "$OUT/$name/ref-out" "$dir/out" > /dev/null; then check OK "$name/$tool: clean build outputs equal $ref's"
    else check FAIL "$name/$tool: clean build outputs differ from $ref's: $(diff -rq "$OUT/$name/ref-out" "$dir/out" | head -3 | tr '\n' ' ')"
    fi
    if [ "$tool" = mlbuild ] && [ "$name" != big ]; then
      # The timed builds start their commands through the native spawner (the default where the
      # build compiled it); the Node spawner, its fallback, must build the same outputs.
      [ -x "$OUT/cli/dist/mlbuild-spawner" ] && check OK "$name/mlbuild: the timed builds used the native spawner (dist/mlbuild-spawner)" \
        || check FAIL "$name/mlbuild: dist/mlbuild-spawner was not built (no C compiler?): the timed builds used the Node spawner"
      local alt="$OUT/$name/mlbuild-node-spawner"
      rm -rf "$alt" && cp -a "$base" "$alt"
      if ! (cd "$alt" && MLBUILD_SPAWNER=node $cmd > /dev/null 2>&1); then check FAIL "$name/mlbuild: a clean build with MLBUILD_SPAWNER=node failed"
      elif diff -rq "$OUT/$name/ref-out" "$alt/out" > /dev/null; then check OK "$name/mlbuild: a clean build with MLBUILD_SPAWNER=node: outputs equal $ref's"
      else check FAIL "$name/mlbuild: a clean build with MLBUILD_SPAWNER=node: outputs differ from $ref's"; fi
      rm -rf "$alt"
    fi

    sleep 2.5   # let the outs age past mlbuild's 2 s racy window, as on any real no-op
    local ran
    ran=$(build_counting "$tool" "$dir") || ran="? (the build failed)"
    [ "$ran" = 0 ] && check OK "$name/$tool: no-op ran 0 stages" || check FAIL "$name/$tool: no-op ran $ran stages (expected 0)"
    bench "$name.noop.$tool" "$dir" "$cmd" "" "$NOOP_RUNS"
    if [ "$tool" = mlbuild ]; then
      bench "$name.status.$tool" "$dir" "$MLBUILD status" "" "$NOOP_RUNS"
      if (cd "$dir" && $MLBUILD status --check > /dev/null); then check OK "$name/mlbuild: status --check says up to date"
      else check FAIL "$name/mlbuild: status --check reports stale stages on a no-op"; fi
    fi

    # The counted (untimed) build also serves as the quick mode's warm-up of the case.
    (cd "$dir" && bash "$HERE/prep.sh" change "$leaf"); ran=$(build_counting "$tool" "$dir") || ran="? (the build failed)"
    [ "$ran" = "$leafN" ] && check OK "$name/$tool: leaf change reran $ran stages" || check FAIL "$name/$tool: leaf change reran $ran stages (expected $leafN)"
    bench "$name.leaf.$tool" "$dir" "$cmd" "$prep change $leaf" "$RUNS" "$HEAVY_WARMUP"

    (cd "$dir" && bash "$HERE/prep.sh" change "$root"); ran=$(build_counting "$tool" "$dir") || ran="? (the build failed)"
    [ "$ran" = "$rootN" ] && check OK "$name/$tool: root change reran $ran stages" || check FAIL "$name/$tool: root change reran $ran stages (expected $rootN)"
    bench "$name.root.$tool" "$dir" "$cmd" "$prep change $root" "$RUNS" "$HEAVY_WARMUP"

    if [ "$tool" = mlbuild ]; then fresh_snapshot_checks "$name" "$dir" "$leaf"; fi

    # The outputs left after all those incremental builds must equal a forced full rebuild.
    local scratch="$OUT/$name/verify"
    # make only reads the inputs, so hard links will do.
    rm -rf "$scratch" && mkdir -p "$scratch/out" && cp -al "$dir/inputs" "$scratch/" && cp "$dir/Makefile" "$scratch/"
    if ! (cd "$scratch" && make -j2 -s > /dev/null 2>&1); then check FAIL "$name/$tool: the verification rebuild (make) failed"
    elif diff -rq "$scratch/out" "$dir/out" > /dev/null; then check OK "$name/$tool: final outputs equal a full rebuild"
    else check FAIL "$name/$tool: final outputs differ from a full rebuild: $(diff -rq "$scratch/out" "$dir/out" | head -3 | tr '\n' ' ')"; fi
    rm -rf "$scratch"
    if [ "$tool" = mlbuild ]; then
      # The cache after every build above: each object is what its name says (small outs are
      # written from a re-hashed read, not copied), read-only, no temp file left.
      local msg
      if msg=$(node "$HERE/check-cache.mjs" "$dir"); then check OK "$name/mlbuild: $msg"; else check FAIL "$name/mlbuild: cache check: $msg"; fi
      # An out edited in place (same size) must never reach its cache object (no shared inode):
      # the cache still checks clean, and repro puts the recorded content back without running.
      # (A glob, not `ls | head -1`: under pipefail, ls killed by SIGPIPE on 1000 names ends the script.)
      local outs=("$dir"/out/*); local victim; victim=$(basename "${outs[0]}")
      cp "$dir/out/$victim" "$OUT/$name/victim.orig"
      printf 'X' | dd of="$dir/out/$victim" bs=1 count=1 conv=notrunc status=none
      if ! msg=$(node "$HERE/check-cache.mjs" "$dir"); then check FAIL "$name/mlbuild: an in-place edit of out/$victim changed the cache: $msg"
      else
        ran=$(build_counting mlbuild "$dir") || ran="? (the build failed)"
        if [ "$ran" = 0 ] && cmp -s "$OUT/$name/victim.orig" "$dir/out/$victim"; then check OK "$name/mlbuild: an in-place edit of out/$victim left its cache object intact; repro restored it, running 0 stages"
        else check FAIL "$name/mlbuild: after an in-place edit of out/$victim, repro ran $ran stages (expected 0, a restore) or did not restore it"; fi
      fi
      # Logs are opened on first output, and these stages print nothing.
      local logs=0; [ -d "$dir/.mlcache/logs" ] && logs=$(find "$dir/.mlcache/logs" -type f | wc -l)
      [ "$logs" = 0 ] && check OK "$name/mlbuild: no log files for stages that printed nothing" || check FAIL "$name/mlbuild: $logs log files for stages that printed nothing"
    fi
  done
  log "   ($n stages; leaf $leaf reruns $leafN, root $root reruns $rootN; $((SECONDS - START)) s so far)"
}

# fresh_snapshot_checks NAME DIR LEAF: mlbuild's no-op shortcut (.mlcache/state/fresh-snapshot.bin)
# answers a no-op without rewriting the snapshot, yet an edit inside the same mtime tick (same size,
# mtime put back), a touched-but-identical file and a pipeline edit do exactly what the full check
# does. MLBUILD_RACY_WINDOW_MS=0 replaces waiting out the 2 s racy window between the runs.
fresh_snapshot_checks() {
  local name=$1 dir=$2 leaf=$3 ran before after tick line
  local snap="$dir/.mlcache/state/fresh-snapshot.bin"
  export MLBUILD_RACY_WINDOW_MS=0
  ran=$(build_counting mlbuild "$dir") || ran="?"   # settles: records a snapshot of the current state
  before=$(stat -c '%i %y' "$snap" 2>/dev/null || echo none)
  ran=$(build_counting mlbuild "$dir") || ran="?"
  after=$(stat -c '%i %y' "$snap" 2>/dev/null || echo gone)
  [ "$ran" = 0 ] && [ "$before" = "$after" ] && check OK "$name/mlbuild: a no-op is answered from the fresh snapshot (ran 0, snapshot not rewritten)" \
    || check FAIL "$name/mlbuild: no-op with a fresh snapshot ran $ran stages, snapshot $before -> $after"
  # The launcher starts that no-op (and status) from the V8 startup snapshot, whose answers are
  # exactly those of the ordinary entry, node bin/mlbuild.js (elapsed times aside).
  local c fast plain trace
  for c in "repro -j 2 --json" "status --json"; do
    trace=$(cd "$dir" && sh -x $MLBUILD $c 2>&1 >/dev/null | grep '^+ exec ') || trace="exit $?"
    if [[ "$trace" != *--snapshot-blob* ]]; then
      check FAIL "$name/mlbuild: '$c' did not start from the startup snapshot (dist/snapshot/mlbuild.blob)"; continue
    fi
    fast=$(cd "$dir" && $MLBUILD $c | sed 's/"elapsed_ms": [0-9.]*//') || fast="exit $?"
    plain=$(cd "$dir" && node "$OUT/cli/bin/mlbuild.js" $c | sed 's/"elapsed_ms": [0-9.]*//') || plain="exit $?"
    [ "$fast" = "$plain" ] && check OK "$name/mlbuild: '$c' starts from the startup snapshot and answers exactly as node bin/mlbuild.js" \
      || check FAIL "$name/mlbuild: '$c' from the startup snapshot differs from node bin/mlbuild.js: $(diff <(echo "$fast") <(echo "$plain") | head -3 | tr '\n' ' ')"
  done
  # Same size, same inode, mtime put back to the same whole second: only ctime and content differ.
  tick=$(( $(date +%s) - 10 ))
  touch -d "@$tick" "$dir/$leaf"
  ran=$(build_counting mlbuild "$dir") || ran="?"   # re-records the leaf (its ctime changed; content did not)
  [ "$ran" = 0 ] || check FAIL "$name/mlbuild: re-dating $leaf reran $ran stages (expected 0)"
  head -c 64 /dev/urandom | dd of="$dir/$leaf" bs=64 count=1 conv=notrunc status=none
  touch -d "@$tick" "$dir/$leaf"
  ran=$(build_counting mlbuild "$dir") || ran="?"
  [ "$ran" -ge 1 ] 2>/dev/null && check OK "$name/mlbuild: an edit inside the same mtime tick (same size, mtime put back) reran $ran stages" \
    || check FAIL "$name/mlbuild: an edit inside the same mtime tick reran $ran stages (expected >= 1)"
  ran=$(build_counting mlbuild "$dir") || ran="?"   # settles
  touch "$dir/$leaf"
  ran=$(build_counting mlbuild "$dir") || ran="?"
  [ "$ran" = 0 ] && check OK "$name/mlbuild: a touched but identical file reran 0 stages" || check FAIL "$name/mlbuild: a touched but identical file reran $ran stages (expected 0)"
  # A leaf content change re-records the snapshot as a patch (run/snapshot-patch.ts); once the
  # outs it wrote are old enough (one settling run), a no-op is answered from the patched snapshot.
  (cd "$dir" && bash "$HERE/prep.sh" change "$leaf")
  local r1 r2
  r1=$(build_counting mlbuild "$dir") || r1="?"
  r2=$(build_counting mlbuild "$dir") || r2="?"   # settles the outs the leaf run wrote
  before=$(stat -c '%i %y' "$snap" 2>/dev/null || echo none)
  ran=$(build_counting mlbuild "$dir") || ran="?"
  after=$(stat -c '%i %y' "$snap" 2>/dev/null || echo gone)
  [ "$r1" -ge 1 ] 2>/dev/null && [ "$r2" = 0 ] && [ "$ran" = 0 ] && [ "$before" = "$after" ] && check OK "$name/mlbuild: after a leaf change (reran $r1) the patched snapshot answers the no-op" \
    || check FAIL "$name/mlbuild: leaf change reran $r1, then $r2, then $ran stages; snapshot $before -> $after (expected >= 1, 0, 0, unchanged)"
  # A pipeline edit that only changes the leaf stage's cmd text (a leading space) reruns that stage.
  line=$(grep -n "cmd: .*$(dirname "$leaf")/" "$dir/pipeline.yaml" | head -1 | cut -d: -f1)
  sed -i "${line}s/cmd: \"/cmd: \" /" "$dir/pipeline.yaml"
  ran=$(build_counting mlbuild "$dir") || ran="?"
  sed -i "${line}s/cmd: \" /cmd: \"/" "$dir/pipeline.yaml"
  [ "$ran" = 1 ] && check OK "$name/mlbuild: an edited cmd in pipeline.yaml invalidates the fresh snapshot (reran 1 stage)" \
    || check FAIL "$name/mlbuild: an edited cmd in pipeline.yaml reran $ran stages (expected 1)"
  ran=$(build_counting mlbuild "$dir") || ran="?"   # back to the generated pipeline
  unset MLBUILD_RACY_WINDOW_MS
}

# noop_scenario NAME GEN-ARGS...: huge graph, only no-op (and status) timings; one untimed build each.
noop_scenario() {
  local name=$1; shift
  local base="$OUT/$name/base"
  log ""
  log "== scenario $name, no-op only ($*)"
  generate "$name" "$@"
  for tool in make ninja mlbuild; do
    local dir="$OUT/$name/$tool" cmd t0
    rm -rf "$dir" && cp -a "$base" "$dir"
    cmd=$(tool_cmd "$tool")
    t0=$(date +%s%N)
    if ! (cd "$dir" && $cmd > "$RES/$name.build.$tool.log" 2>&1); then check FAIL "$name/$tool: the initial build failed"; continue; fi
    log "-- $tool: initial full build took $((($(date +%s%N) - t0) / 1000000)) ms (one untimed run)"
    sleep 2.5
    bench "$name.noop.$tool" "$dir" "$cmd" "" "$RUNS"
    rss "$name.noop.$tool" "$dir" "$cmd"
    if [ "$tool" = mlbuild ]; then bench "$name.status.$tool" "$dir" "$MLBUILD status" "" "$RUNS"; fi
  done
  if diff -rq "$OUT/$name/make/out" "$OUT/$name/mlbuild/out" > /dev/null; then check OK "$name/mlbuild: outputs equal make's"
  else check FAIL "$name/mlbuild: outputs differ from make's"; fi
}

# ------------------------------------------------------------------ run

if wanted floor; then
  log "== start-up floor"
  bench "floor.node" "$ROOT" "node -e 0" "" "$NOOP_RUNS"
  bench "floor.mlbuild-version" "$ROOT" "$MLBUILD --version" "" "$NOOP_RUNS"
fi

TOOLS="make ninja mlbuild"
S100_TOOLS="$TOOLS"; [ "$SNAKE" = 1 ] && S100_TOOLS="$TOOLS snakemake"
if wanted s100; then scenario s100 "$S100_TOOLS" --stages 100 --files 1000 --bytes 1K; fi
if [ "$MODE" = full ] && wanted s1000; then scenario s1000 "$TOOLS" --stages 1000 --files 10000 --bytes 1K; fi
if [ "$MODE" = full ] && wanted profile; then
  rm -f "$RES/profile".*
  log ""
  log "== profile of a no-op repro on s1000 (bench/profile-noop.mjs)"
  if node "$HERE/profile-noop.mjs" --cli "$OUT/cli/bin/mlbuild.js" --dir "$OUT/s1000/mlbuild" --runs "$RUNS" --md "$RES/profile.md" > "$RES/profile.txt" 2>&1; then
    sed 's/^/   /' "$RES/profile.txt" | tee -a "$RES/log.txt"
  else
    check FAIL "s1000/mlbuild: profile-noop.mjs failed or found a problem (see bench/out/results/profile.txt)"
    tail -5 "$RES/profile.txt" | sed 's/^/      /'
  fi
fi
# --10k / --big, or naming them in --only, selects these (in either mode).
if [ "$TENK" = 1 ] || [[ "$ONLY" == *",s10000,"* ]]; then noop_scenario s10000 --stages 10000 --files 10000 --bytes 1K; fi
if [ "$BIG" = 1 ] || [[ "$ONLY" == *",big,"* ]]; then scenario big "$TOOLS" --big 4x512M --no-git; fi

cat /proc/loadavg > "$RES/loadavg-end"
echo $((SECONDS - START)) > "$RES/elapsed"
# One line per run that contributed to these results (several with --only).
printf '%s UTC: `bash bench/run.sh%s` took %s s; load average %s → %s\n' "$(date -u '+%Y-%m-%d %H:%M')" "${ARGS:+ $ARGS}" \
  "$((SECONDS - START))" "$(cut -d' ' -f1-3 "$RES/loadavg-start")" "$(cut -d' ' -f1-3 "$RES/loadavg-end")" >> "$RES/runs.txt"
node "$HERE/report.mjs" "$RES" > "$HERE/RESULTS.md"
log ""
log "== wrote bench/RESULTS.md ($((SECONDS - START)) s)"
if grep -q '^FAIL' "$RES/checks.txt"; then
  echo "run.sh: correctness checks failed:" >&2
  grep '^FAIL' "$RES/checks.txt" >&2
  exit 1
fi
