#!/usr/bin/env bash
# Per-phase figures for a rename on click 8.5.1 (PyPI source archive):
# `orch plan` and `orch run --dry-run`, each run a few times.
#
#   benches/click.sh [RUNS]        (needs a release build: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
target="${CARGO_TARGET_DIR:-$HOME/.cache/orch-target}"
orch="$target/release/orch"
[ -x "$orch" ] || cargo build --release
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

pip download --quiet --no-deps --no-binary :all: click==8.5.1 -d "$work/dl"
tar -xzf "$work"/dl/click-8.5.1.tar.gz -C "$work"
repo="$work/click-8.5.1"
git -C "$repo" init -q -b main
git -C "$repo" -c user.name=bench -c user.email=bench@example.com add -A
git -C "$repo" -c user.name=bench -c user.email=bench@example.com commit -q -m click
export XDG_STATE_HOME="$work/state"
command="rename function make_str to make_text"
echo "click 8.5.1: $(find "$repo" -name '*.py' | wc -l) Python files; command: $command"

for mode in plan "run --dry-run --yes"; do
  for i in $(seq "$runs"); do
    # shellcheck disable=SC2086
    "$orch" $mode --json --repo "$repo" "$command" > "$work/out.json" || true
    python3 - "$work/out.json" "$mode" "$i" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
phases = "  ".join(f"{p['phase']} {p['duration_ms']}ms/{p['tokens']}t" for p in data["phases"])
print(f"{sys.argv[2]:<14} #{sys.argv[3]}  total {data['duration_ms']:>5} ms  tokens {data['total_tokens']:>5}  "
      f"peak {data['peak_memory_mb']} MiB  ok={data['success']}  | {phases}")
PY
  done
done
