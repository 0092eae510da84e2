#!/usr/bin/env bash
# Structural replace, side by side on the same input: orch (plan + dry run:
# MAP, LOGIC, MONTE CARLO, PLAN, OPTIMIZE, EXECUTE in a private worktree,
# REVIEW; no tests) against the ast-grep CLI rewriting the files in place
# (`ast-grep run -p P -r R -U`), on Django 5.2.19's source archive
# (2,823 Python files). Interleaved runs; prints every run, the medians and
# the ratio, and how the two outputs differ.
#
#   benches/replace.sh [RUNS]   (needs network once for pip; a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
target="${CARGO_TARGET_DIR:-$HOME/.cache/orch-target}"
orch="$target/release/orch"
[ -x "$orch" ] || cargo build --release
command -v ast-grep >/dev/null || python3 -m pip install --quiet ast-grep-cli
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

pip download --quiet --no-deps --no-binary :all: django==5.2.19 -d "$work/dl"
tar --no-same-owner -xzf "$work"/dl/[Dd]jango-5.2.19.tar.gz -C "$work"
repo="$work/django-5.2.19"
git -C "$repo" init -q -b main
git -C "$repo" -c user.name=bench -c user.email=bench@example.com add -A
git -C "$repo" -c user.name=bench -c user.email=bench@example.com commit -q -m django
export XDG_STATE_HOME="$work/state"
pattern='os.path.join($A, $B)'
rewrite='Path($A) / $B'
echo "django 5.2.19: $(find "$repo" -name '*.py' | wc -l) Python files; $(ast-grep --version)"
echo "pattern: $pattern  ->  $rewrite"

now() { python3 -c 'import time; print(time.monotonic())'; }
: > "$work/times"
for i in $(seq "$runs"); do
  t0=$(now)
  ast-grep run -p "$pattern" -r "$rewrite" -U "$repo" > /dev/null
  t1=$(now)
  git -C "$repo" diff > "$work/ast-grep.diff"
  git -C "$repo" checkout -q .
  t2=$(now)
  "$orch" run --dry-run --yes --json --phase-tokens 1000000 --total-tokens 1000000 --repo "$repo" \
    "replace \`$pattern\` with \`$rewrite\`" > "$work/orch.json"
  t3=$(now)
  python3 - "$work/orch.json" "$i" "$t0" "$t1" "$t2" "$t3" "$work/times" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
i, t0, t1, t2, t3 = sys.argv[2], *map(float, sys.argv[3:7])
sg, orch = t1 - t0, t3 - t2
open(sys.argv[7], "a").write(f"{sg} {orch}\n")
phases = "  ".join(f"{p['phase']} {p['duration_ms']}" for p in data["phases"])
print(f"#{i}  ast-grep {sg:.2f} s   orch {orch:.2f} s (ok={data['success']}, "
      f"{data['total_tokens']} tokens, peak {data['peak_memory_mb']} MiB)  | {phases}")
PY
done
python3 - "$work/times" "$work/orch.json" "$work/ast-grep.diff" <<'PY'
import json, statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
sg = statistics.median(r[0] for r in rows)
orch = statistics.median(r[1] for r in rows)
print(f"median: ast-grep {sg:.2f} s, orch {orch:.2f} s, orch/ast-grep = {orch / sg:.2f}")
def files(diff):
    return {l[6:] for l in diff.splitlines() if l.startswith("+++ b/")}
ours = files(json.load(open(sys.argv[2]))["diff"] or "")
theirs = files(open(sys.argv[3]).read())
print(f"files changed: orch {len(ours)}, ast-grep {len(theirs)}; only ast-grep: {len(theirs - ours)}, only orch: {len(ours - theirs)}")
for f in sorted(theirs - ours)[:10]:
    print(f"  only ast-grep: {f}")
PY
