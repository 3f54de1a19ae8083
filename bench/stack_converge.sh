#!/usr/bin/env bash
# Wall time of a no-change converge of the API stack role, and of a zero-downtime redeploy
# (v1 -> v2), on the api_stack molecule instance (the host's Docker engine). Prints three lines.
#   bench/stack_converge.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup --docker >/dev/null
export PATH="$PWD/.venv/bin:$PATH"
eval "$(tests/images/build 2>/dev/null)"
export OXY_IMAGE_BASE OXY_IMAGE_INSTANCE OXY_IMAGE_CADDY OXY_IMAGE_API_V1 OXY_IMAGE_API_V2 OXY_IMAGE_SMTP
trap 'molecule cleanup -s api_stack >/dev/null 2>&1; molecule destroy -s api_stack >/dev/null 2>&1' EXIT

seconds() {  # prints the wall time of "$@" in seconds, with one decimal
  local start; start=$(date +%s%N)
  "$@" >/tmp/oxy-bench.log 2>&1
  local ms=$(( ($(date +%s%N) - start) / 1000000 ))
  printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

molecule destroy -s api_stack >/dev/null 2>&1 || true
first=$(seconds molecule converge -s api_stack)
noop=$(seconds molecule converge -s api_stack)
grep -q "changed=0" /tmp/oxy-bench.log || { echo "bench: the second converge changed something" >&2; exit 1; }
export OXY_IMAGE_API_V1=$OXY_IMAGE_API_V2   # the scenario's API tag now names v2
redeploy=$(seconds molecule converge -s api_stack)
printf 'api_stack first converge (creates the instance; docker_host + api_stack): %6ss\n' "$first"
printf 'api_stack no-change converge:                                            %6ss\n' "$noop"
printf 'api_stack redeploy v1 -> v2 (health wait, Caddy switch, 3s drain):      %6ss\n' "$redeploy"
