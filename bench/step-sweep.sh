#!/usr/bin/env bash
# Offered-load sweep of one rank in `constant` and in `step` (engine clock) mode: Poisson arrivals at each rate,
# streamed completions, one table row and one JSON line per (mode, rate) with throughput and TTFT/ITL p50/p90/p99,
# then PNG charts (bench/OrleansSim.Charts) of throughput and TTFT/ITL p50/p99 against offered load.
#
#   bench/step-sweep.sh [--no-build] [--rates "2 4 6 8 10 12 14 16"] [--duration 20] [--prompt 1024] [--output 256]
#                       [--max-num-seqs 32] [--modes "constant step"] [--ttft 37ms] [--itl 8ms] [--out PREFIX]
#                       [--title TEXT] [--reference NAME=FILE.csv] [-- extra server flags]
#
# Writes PREFIX.md (table), PREFIX.jsonl (OrleansSim.Bench --jsonl) and PREFIX-{throughput,ttft,itl}.png;
# PREFIX defaults to bench/results/<date>-step-sweep. Constant mode uses --ttft/--itl (what the step profile gives a
# lightly loaded rank for this workload); step mode uses the default profile (8B on one H100) unless the extra server
# flags say otherwise. Both modes get the same --max-num-seqs. docs/latency.md explains how to read the result.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=1; RATES="2 4 6 8 10 12 14 16"; DURATION=20; PROMPT=1024; OUTPUT=256; SEQS=32; MODES="constant step"
TTFT=37ms; ITL=8ms; OUT="bench/results/$(date -u +%Y-%m-%d)-step-sweep"; TITLE=""; REFERENCE=(); EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) BUILD=0 ;;
    --rates) RATES="$2"; shift ;;
    --duration) DURATION="$2"; shift ;;
    --prompt) PROMPT="$2"; shift ;;
    --output) OUTPUT="$2"; shift ;;
    --max-num-seqs) SEQS="$2"; shift ;;
    --modes) MODES="$2"; shift ;;
    --ttft) TTFT="$2"; shift ;;
    --itl) ITL="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --title) TITLE="$2"; shift ;;
    --reference) REFERENCE+=(--reference "$2"); shift ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$BUILD" = 1 ]; then
  for p in src/OrleansSim.Server bench/OrleansSim.Bench bench/OrleansSim.Charts; do
    dotnet build "$p" -c Release -nologo -clp:ErrorsOnly || exit 1
  done
fi
SERVER=src/OrleansSim.Server/bin/Release/net10.0/OrleansSim.Server.dll
BENCH=bench/OrleansSim.Bench/bin/Release/net10.0/OrleansSim.Bench.dll
CHARTS=bench/OrleansSim.Charts/bin/Release/net10.0/OrleansSim.Charts.dll
PORT=${BENCH_PORT:-18400}
rm -f "$OUT.jsonl"

{
  echo "# Offered-load sweep: ${MODES// / vs } ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD))"
  echo
  echo "One rank, Poisson arrivals, ${PROMPT} prompt / ${OUTPUT} output tokens (ignore_eos), streamed, --max-num-seqs ${SEQS}; ${DURATION} s per rate after 3 s of warm-up."
  echo "Constant mode: --time-to-first-token ${TTFT} --inter-token-latency ${ITL}. Step mode: --latency-calculator step ${EXTRA[*]:-(default profile)}."
  echo "Machine: $(nproc) cores; load average at the start $(cut -d' ' -f1-3 /proc/loadavg) (each row's load average is listed below the table)."
  echo
  echo "| run | load | req/s | out tok/s | TTFT p50/p90/p99 ms | ITL p50/p90/p99 ms | E2E p50/p99 ms | TTFT err p50/p99 | ITL err p50/p99 | errors | server CPU ms/req | server cores | peak RSS MB | machine idle % |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
} > "$OUT.md"

run_mode() {
  local mode=$1; shift
  dotnet "$SERVER" --model bench-model --port "$PORT" --silo-port 18411 --gateway-port 18430 --max-num-seqs "$SEQS" \
    --max-model-len 32768 --seed 1 "$@" > "/tmp/step-sweep-server-$PORT.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/ready" > /dev/null && break; sleep 0.5; done
  for rate in $RATES; do
    dotnet "$BENCH" --url "http://127.0.0.1:$PORT" --rate "$rate" --stream --ignore-eos --prompt-tokens "$PROMPT" \
      --output-tokens "$OUTPUT" --warmup 3 --duration "$DURATION" --server-pid "$pid" --label "$mode" \
      --server-lateness --markdown "$OUT.md" --jsonl "$OUT.jsonl" > /dev/null
  done
  kill "$pid"; wait "$pid" 2> /dev/null
}

for mode in $MODES; do
  case "$mode" in
    constant) run_mode constant --latency-calculator constant --time-to-first-token "$TTFT" --inter-token-latency "$ITL" ;;
    step) run_mode step --latency-calculator step "${EXTRA[@]}" ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
done

{
  echo
  echo "Load average per row (1/5/15 min, at the end of the row's run):"
  echo
  python3 - "$OUT.jsonl" <<'PY' || true
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    late = r.get("server_lateness") or {}
    fmt = lambda v: "-" if v is None else ("%.2f" % v if isinstance(v, (int, float)) else str(v))
    print("- %s %s/s: load average %s; server token lateness p50 / p99 %s / %s ms" % (
        r["label"], r["offered_rate"], r["load_average"], fmt(late.get("p50")), fmt(late.get("p99"))))
PY
} >> "$OUT.md"
dotnet "$CHARTS" --in "$OUT.jsonl" --out "$OUT" ${TITLE:+--title "$TITLE"} "${REFERENCE[@]}"
echo "wrote $OUT.md, $OUT.jsonl and charts"
