#!/usr/bin/env bash
# hyperfine --prepare helper, run inside a generated project (see bench/gen.mjs):
#
#   bash bench/prep.sh clean TOOL   delete every stage out and TOOL's own state, so the next build is
#                                   a full build from clean (TOOL: make | ninja | mlbuild | snakemake)
#   bash bench/prep.sh change FILE  give FILE new random content (same size), so the next build
#                                   reruns exactly the stages downstream of FILE, every time
#
# Random (not toggled) content matters: toggling between two versions would let a content-hashing
# tool restore from a cache instead of running, so timed runs would not all do the same work.
set -euo pipefail

action=${1:?usage: prep.sh clean TOOL | change FILE}
arg=${2:?usage: prep.sh clean TOOL | change FILE}

case "$action" in
  clean)
    [ -f bench.json ] || { echo "prep.sh: run me inside a generated project (no bench.json in $PWD)" >&2; exit 2; }
    rm -rf out && mkdir out
    case "$arg" in
      make) ;;                                             # make's only state is the outs' mtimes
      ninja) rm -f .ninja_log .ninja_deps ;;
      mlbuild) rm -rf .mlcache mlbuild.lock ;;
      snakemake) rm -rf .snakemake ;;
      *) echo "prep.sh: unknown tool '$arg'" >&2; exit 2 ;;
    esac
    ;;
  change)
    [ -f "$arg" ] || { echo "prep.sh: no file '$arg' in $PWD" >&2; exit 2; }
    size=$(stat -c %s "$arg")
    if [ "$size" -gt $((1 << 20)) ]; then
      # Big input: rewrite its first 64 KiB in place (what the --big stage commands read); the
      # size stays, the mtime and the content hash change, and the rest need not be rewritten.
      # (No pipe: `head | dd` fails under pipefail when dd stops reading and head gets SIGPIPE.)
      dd if=/dev/urandom of="$arg" bs=65536 count=1 conv=notrunc iflag=fullblock status=none
    else
      head -c "$size" /dev/urandom > "$arg.tmp" && mv "$arg.tmp" "$arg"
    fi
    ;;
  *)
    echo "prep.sh: unknown action '$action' (clean | change)" >&2
    exit 2
    ;;
esac
