#!/usr/bin/env bash
# A/B of how mlbuild starts stage commands, on the 1000-stage project of run.sh: full builds from
# clean, alternating MLBUILD_SPAWNER=direct (the main process forks every stage), node (the Node
# spawner helper forks them) and native (the default where it was built: the C helper
# posix_spawns them; src/execute/launcher.ts), with ninja as the yardstick.
# Alternating keeps both under the same machine load. Prints each run and the medians, and the
# main process's CPU and page faults (from a --require hook; the helper's own CPU is reported too).
#
#   bash bench/spawner-ab.sh [ROUNDS]     (default 4; needs ninja and a built dist/)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
ROUNDS=${1:-4}
WORK="$HERE/out/spawner-ab"
command -v ninja >/dev/null || { echo "spawner-ab.sh: ninja is not installed (apt-get install -y ninja-build)" >&2; exit 1; }
rm -rf "$WORK" && mkdir -p "$WORK"
node "$HERE/gen.mjs" --out "$WORK/base" --force --stages 1000 --files 10000 --bytes 1K > /dev/null
cp -a "$WORK/base" "$WORK/ml" && cp -a "$WORK/base" "$WORK/nj"
# Reports this process's CPU and page faults, and the CPU of its live children (the helper) at exit.
cat > "$WORK/cpu.cjs" <<'JS'
const fs = require('fs');
process.on('exit', () => {
  const u = process.cpuUsage(); const r = process.resourceUsage(); let kids = 0;
  for (const t of fs.readdirSync('/proc/self/task')) for (const c of fs.readFileSync(`/proc/self/task/${t}/children`, 'utf8').split(' ').filter(Boolean)) {
    try { const st = fs.readFileSync(`/proc/${c}/stat`, 'utf8'); const f = st.slice(st.lastIndexOf(')') + 2).split(' '); kids += (+f[11] + +f[12] + +f[13] + +f[14]) * 10; } catch {}
  }
  fs.writeSync(2, `cpu_ms=${Math.round((u.user + u.system) / 1000)} faults=${r.minorPageFault} helper_tree_cpu_ms=${kids}\n`);
});
JS
ms() { echo $(( $(date +%s%N) / 1000000 )); }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$ROUNDS"); do
  for v in direct node native ninja; do
    if [ "$v" = ninja ]; then
      (cd "$WORK/nj" && { rm -rf out .ninja_log 2>/dev/null || rm -rf out .ninja_log; } && mkdir out && t=$(ms) && ninja -j2 > /dev/null && echo "ninja wall_ms=$(( $(ms) - t ))")
    else
      (cd "$WORK/ml" && { rm -rf out .mlcache mlbuild.lock 2>/dev/null || rm -rf out .mlcache mlbuild.lock; } && mkdir out && t=$(ms) &&
        info=$(MLBUILD_SPAWNER=$v node -r "$WORK/cpu.cjs" "$ROOT/bin/mlbuild.js" repro -j 2 2>&1 > /dev/null | tail -1) &&
        echo "$v wall_ms=$(( $(ms) - t )) $info")
    fi
  done
done | tee "$WORK/runs.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => { const [k, ...kv] = l.split(" "); return { k, ...Object.fromEntries(kv.map((x) => x.split("=")).map(([a, b]) => [a, Number(b)])) }; });
const med = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
for (const k of ["direct", "node", "native", "ninja"]) {
  const r = rows.filter((x) => x.k === k); if (r.length === 0) continue;
  const cols = Object.keys(r[0]).filter((c) => c !== "k").map((c) => `${c} ${med(r.map((x) => x[c]))}`);
  console.log(`median ${k.padEnd(6)} ${cols.join(", ")}`);
}' "$WORK/runs.txt"
