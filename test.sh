#!/usr/bin/env bash
# Runs every test of the solution on a fresh machine: installs what the tests need, builds in
# Release, runs `dotnet test`, and ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"

CONFIGURATION="${CONFIGURATION:-Release}"
RESULTS="$(pwd)/TestResults"

# Tools the black-box tests drive, as "command:debian-package", one per line.
APT_TOOLS=(
  "redis-server:redis-server"
  "promtool:prometheus"
)
need_apt=()
for pair in "${APT_TOOLS[@]}"; do
  tool="${pair%%:*}"; pkg="${pair##*:}"
  command -v "$tool" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# prometheus_client's strict OpenMetrics parser (Debian's python3) checks the OpenMetrics exposition.
/usr/bin/python3 -c 'import prometheus_client.openmetrics.parser' >/dev/null 2>&1 || need_apt+=("python3-prometheus-client")
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Node packages the tests run: the k8s manifest tests validate offline against the Kubernetes schemas of an npm
# package (k8s/validate); the Node SDK tests drive the server with the official openai and @anthropic-ai/sdk
# packages (tests/node-clients). Each is re-installed when its package-lock.json changed since the last install
# (a checkout that added or bumped a package).
for dir in k8s/validate tests/node-clients; do
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    npm ci --prefix "$dir" --silent --no-audit --no-fund >/dev/null 2>&1 || echo "warning: npm ci in $dir failed (the tests that need it will fail)"
  fi
done

rm -rf "$RESULTS"
dotnet build OrleansSim.sln -c "$CONFIGURATION" -nologo -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }
# One results directory per test project: TRX files are named by machine and time, so projects finishing in
# the same instant would overwrite each other's file in a shared directory.
status=0
for project in tests/*/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  dotnet test --project "$project" -c "$CONFIGURATION" --no-build --report-xunit-trx --results-directory "$RESULTS/$name" "$@" || status=$?
done

passed=0; failed=0
shopt -s nullglob
for trx in "$RESULTS"/*/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
