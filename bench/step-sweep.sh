#!/usr/bin/env bash
# Offered-load sweep of one rank in `constant` and in `step` (engine clock) mode: Poisson arrivals at each rate,
# streamed completions, one table row per (mode, rate) with throughput and TTFT/ITL p50/p90/p99.
# Writes bench/results/<date>-step-sweep.md. Charts are not generated (see docs/latency.md).
#
#   bench/step-sweep.sh [--no-build] [--rates "2 4 8 16 32"] [--duration 20] [--out FILE]
#
# Workload: 256 prompt tokens, 128 output tokens (ignore_eos), --max-num-seqs 256. Constant mode uses 20 ms TTFT and
# 8 ms ITL (what the step profile gives a lightly loaded rank); step mode uses the default profile (8B on one H100).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=1; RATES="2 4 8 16 32 64"; DURATION=20; OUT="bench/results/$(date -u +%Y-%m-%d)-step-sweep.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) BUILD=0 ;;
    --rates) RATES="$2"; shift ;;
    --duration) DURATION="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$BUILD" = 1 ]; then
  dotnet build src/OrleansSim.Server -c Release -nologo -clp:ErrorsOnly || exit 1
  dotnet build bench/OrleansSim.Bench -c Release -nologo -clp:ErrorsOnly || exit 1
fi
SERVER=src/OrleansSim.Server/bin/Release/net10.0/OrleansSim.Server.dll
BENCH=bench/OrleansSim.Bench/bin/Release/net10.0/OrleansSim.Bench.dll
PORT=18400

{
  echo "# Offered-load sweep: constant vs step ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "One rank, Poisson arrivals, 256 prompt / 128 output tokens, streamed; ${DURATION} s per rate. Machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| run | load | req/s | out tok/s | TTFT p50/p90/p99 ms | ITL p50/p90/p99 ms | E2E p50/p99 ms | TTFT err p50/p99 | ITL err p50/p99 | errors | server CPU ms/req | server cores | peak RSS MB | machine idle % |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
} > "$OUT"

run_mode() {
  local mode=$1; shift
  dotnet "$SERVER" --model bench-model --port "$PORT" --silo-port 18411 --gateway-port 18430 --max-num-seqs 256 \
    --max-model-len 4096 --seed 1 "$@" > /tmp/step-sweep-server.log 2>&1 &
  local pid=$!
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/ready" > /dev/null && break; sleep 0.5; done
  for rate in $RATES; do
    dotnet "$BENCH" --url "http://127.0.0.1:$PORT" --rate "$rate" --stream --ignore-eos --prompt-tokens 256 \
      --output-tokens 128 --warmup 3 --duration "$DURATION" --server-pid "$pid" --label "$mode" --markdown "$OUT" > /dev/null
  done
  kill "$pid"; wait "$pid" 2> /dev/null
}

run_mode constant --latency-calculator constant --time-to-first-token 20ms --inter-token-latency 8ms
run_mode step --latency-calculator step
echo "wrote $OUT"
