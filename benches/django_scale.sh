#!/usr/bin/env bash
# Scale: `orch plan` renames on Django 5.2.19's source archive (2,823 Python
# files, ~490k lines): MAP and LOGIC times and the peak memory of orch and
# its servers (orch's own 250 ms sampler), per command, a few runs each.
#
#   benches/django_scale.sh [RUNS]   (needs network once for pip; a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
target="${CARGO_TARGET_DIR:-$HOME/.cache/orch-target}"
orch="$target/release/orch"
[ -x "$orch" ] || cargo build --release
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pip download --quiet --no-deps --no-binary :all: django==5.2.19 -d "$work/dl"
tar --no-same-owner -xzf "$work"/dl/[Dd]jango-5.2.19.tar.gz -C "$work"
repo="$work/django-5.2.19"
git -C "$repo" init -q -b main
git -C "$repo" -c user.name=bench -c user.email=bench@example.com add -A
git -C "$repo" -c user.name=bench -c user.email=bench@example.com commit -q -m django
export XDG_STATE_HOME="$work/state"
echo "django 5.2.19: $(find "$repo" -name '*.py' | wc -l) Python files, $(cat $(find "$repo" -name '*.py') | wc -l) lines"
for command in \
  "rename function get_random_string to make_random_string" \
  "rename function reverse to url_reverse in django/urls/base.py" \
  "rename class Model to BaseModel in django/db/models/base.py"; do
  for i in $(seq "$runs"); do
    "$orch" plan --json --phase-tokens 10000000 --total-tokens 20000000 --repo "$repo" "$command" > "$work/out.json" || true
    python3 - "$work/out.json" "$command" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
ph = {p["phase"]: p for p in data["phases"]}
ml = ph["MAP"]["duration_ms"] + ph["LOGIC"]["duration_ms"]
print(f"{sys.argv[2][:60]:<60}  MAP+LOGIC {ml:>5} ms (MAP {ph['MAP']['duration_ms']}, LOGIC {ph['LOGIC']['duration_ms']})  "
      f"peak {data['peak_memory_mb']} MiB  total {data['duration_ms']} ms  tokens {data['total_tokens']}  ok={data['success']}")
PY
  done
done
