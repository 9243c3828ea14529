#!/usr/bin/env bash
# Runs the benchmark matrix: the simulator and a raw Kestrel baseline as separate processes over
# loopback, driven by bench/OrleansSim.Bench, side by side. Writes bench/results/<date>.md.
#
#   bench/run.sh            full matrix (about 10 minutes on 2 cores; run by hand)
#   bench/run.sh --smoke    a few seconds per case, tiny loads; exits non-zero if any request failed (CI)
#   options: --no-build (use the existing Release build), --out FILE, --levels "100 1000 ..." (stream curve),
#            --only "startup clients ..." (run only these sections: startup nonstream clients fresh-streams streams dp memory)
#
# The "clients" section drives both servers with wrk and hey (Debian packages `wrk`, `hey`) when installed,
# including a cold-start curve (req/s in each of the first seconds of a fresh process); without them it is
# skipped with a note, so --smoke (CI) needs neither.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SMOKE=0; BUILD=1; OUT=""; LEVELS=""; ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --no-build) BUILD=0 ;;
    --out) OUT="$2"; shift ;;
    --levels) LEVELS="$2"; shift ;;
    --only) ONLY="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

# 10,000 streams need 10,000 sockets in each process; raise the descriptor limit as far as allowed.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

PORT=${BENCH_PORT:-18000}        # simulator ranks: PORT..PORT+7
BPORT=$((PORT + 100))            # baseline ranks: BPORT..BPORT+7
SILO=${BENCH_SILO_PORT:-21111}; GATEWAY=${BENCH_GATEWAY_PORT:-31111}
MODEL=bench-model
BIN=Release/net10.0
SIM="$ROOT/src/OrleansSim.Server/bin/$BIN/OrleansSim.Server.dll"
BASE="$ROOT/bench/Baseline/bin/$BIN/OrleansSim.Bench.Baseline.dll"
LOAD="$ROOT/bench/OrleansSim.Bench/bin/$BIN/OrleansSim.Bench.dll"
WORK=$(mktemp -d)
mkdir -p "$ROOT/bench/results"
[ -n "$OUT" ] || OUT="$ROOT/bench/results/$(date -u +%Y-%m-%d)$([ $SMOKE = 1 ] && echo -smoke).md"

if [ $BUILD = 1 ]; then
  dotnet build "$ROOT/OrleansSim.sln" -c Release -nologo -clp:ErrorsOnly >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
fi

if [ $SMOKE = 1 ]; then
  NS_SECONDS=2; WARM=1; LEVELS=${LEVELS:-"20"}; STREAM_SECONDS=1; DP_TOTAL=16; IDLE_STREAMS=100; STARTS=1; TOKENS=10
else
  NS_SECONDS=10; WARM=3; LEVELS=${LEVELS:-"100 500 1000 2000 4000 6000 8000 10000"}; STREAM_SECONDS=6; DP_TOTAL=800; IDLE_STREAMS=10000; STARTS=5; TOKENS=50
fi
TTFT=100; ITL=50
STREAM_LIFE=$(awk "BEGIN{print ($TTFT + $ITL * ($TOKENS - 1)) / 1000}")   # seconds one stream lasts

PIDS=()
FAILED=0
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

now_ms() { date +%s%3N; }
# want SECTION: true when SECTION is to run (every section without --only).
want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

# wait_ready URL: polls until 200 (60 s max: a machine busy with other builds can be slow); prints nothing, returns 1 on timeout.
wait_ready() {
  local deadline=$(( $(now_ms) + 60000 ))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" = 200 ]; do
    [ "$(now_ms)" -gt $deadline ] && return 1
    sleep 0.02
  done
}

# start_sim ARGS...: starts the simulator, sets SERVER_PID, waits for /ready.
start_sim() {
  dotnet "$SIM" --model "${SIM_MODEL:-$MODEL}" --port "$PORT" --silo-port "$SILO" --gateway-port "$GATEWAY" --seed 1 "$@" >"$WORK/sim.log" 2>&1 &
  SERVER_PID=$!; PIDS+=("$SERVER_PID")
  wait_ready "http://127.0.0.1:$PORT/ready" || { echo "simulator did not become ready:"; cat "$WORK/sim.log"; exit 1; }
}

start_baseline() {
  dotnet "$BASE" --model "${SIM_MODEL:-$MODEL}" --port "$BPORT" "$@" >"$WORK/baseline.log" 2>&1 &
  SERVER_PID=$!; PIDS+=("$SERVER_PID")
  wait_ready "http://127.0.0.1:$BPORT/ready" || { echo "baseline did not become ready:"; cat "$WORK/baseline.log"; exit 1; }
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
  # give the kernel a moment to free the ports
  sleep 0.5
}

# load NAME ARGS...: runs the load generator, prints its summary, appends a markdown row, keeps NAME.json.
load() {
  local name=$1; shift
  echo "--- $name: $*" >&2
  dotnet "$LOAD" --model "$MODEL" --label "$name" --server-pid "$SERVER_PID" --json "$WORK/$name.json" --markdown "$WORK/rows.md" --fail-on-errors "$@" >"$WORK/$name.txt" 2>&1
  local rc=$?
  cat "$WORK/$name.txt" >&2
  [ $rc -eq 0 ] || FAILED=1
}

# field NAME JQ: one number from a run's JSON (needs jq; "?" without it).
field() { if command -v jq >/dev/null; then jq -r "$2 // \"nan\"" "$WORK/$1.json" 2>/dev/null || echo "?"; else echo "?"; fi; }
fmt() { awk -v v="$1" -v d="${2:-1}" 'BEGIN{ if (v ~ /^-?[0-9.e+-]+$/) printf "%.*f", d, v; else printf "%s", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a ~ /^[0-9.e+-]+$/ && b ~ /^[0-9.e+-]+$/ && b > 0) printf "%.0f%%", 100 * a / b; else printf "–" }'; }
# table NAMES...: the markdown rows of the given runs under one header.
table() {
  echo; dotnet "$LOAD" --markdown-header
  for n in "$@"; do grep -F "| $n |" "$WORK/rows.md"; done
}

{
  echo "# Benchmark results $(date -u +%Y-%m-%dT%H:%MZ)$([ $SMOKE = 1 ] && echo ' (smoke)')"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(awk '/MemTotal/{printf "%.0f GB", $2/1048576}' /proc/meminfo), .NET $(dotnet --version), commit $(git rev-parse --short HEAD 2>/dev/null), load average before start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Command: \`bench/run.sh $([ $SMOKE = 1 ] && echo --smoke)\`. All processes on loopback; client, server and any other work share the same cores."
} >"$OUT"

# 1. Startup to /ready (Release): process start until GET /ready answers 200.
if want startup; then
  startup=()
  for _ in $(seq "$STARTS"); do
    t0=$(now_ms); start_sim; t1=$(now_ms); startup+=($((t1 - t0))); stop_server
  done
  sorted=$(printf '%s\n' "${startup[@]}" | sort -n | tr '\n' ' ')
  median=$(printf '%s\n' "${startup[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  {
    echo
    echo "## Startup to /ready"
    echo
    echo "\`dotnet OrleansSim.Server.dll --model $MODEL\` until \`GET /ready\` is 200, $STARTS runs: median **${median} ms** (all: ${sorted}ms). Target < 2000 ms."
  } >>"$OUT"
fi

# 2. Non-streaming, zero latency, 64 connections (plus `hey` on the same servers when installed).
if want nonstream; then
  : >"$WORK/rows.md"
  hey_body='{"model":"'$MODEL'","messages":[{"role":"user","content":"hello"}],"max_tokens":16,"ignore_eos":true}'
  run_hey() { hey -z "${NS_SECONDS}s" -c 64 -m POST -T application/json -d "$hey_body" "$1" | awk '/Requests\/sec/{print $2}'; }
  start_baseline
  load baseline-nonstream --url "http://127.0.0.1:$BPORT" --concurrency 64 --duration "$NS_SECONDS" --warmup "$WARM" --output-tokens 16 --ignore-eos
  [ $SMOKE = 0 ] && command -v hey >/dev/null && hey_base=$(run_hey "http://127.0.0.1:$BPORT/v1/chat/completions")
  stop_server
  start_sim --max-num-seqs 256
  load sim-nonstream --url "http://127.0.0.1:$PORT" --concurrency 64 --duration "$NS_SECONDS" --warmup "$WARM" --output-tokens 16 --ignore-eos
  [ $SMOKE = 0 ] && command -v hey >/dev/null && hey_sim=$(run_hey "http://127.0.0.1:$PORT/v1/chat/completions")
  stop_server
  b=$(field baseline-nonstream .requests_per_second); s=$(field sim-nonstream .requests_per_second)
  {
    echo
    echo "## Non-streaming, zero latency, 64 connections"
    echo
    echo "Chat, ~32-token prompt, 16 output tokens (ignore_eos), ${NS_SECONDS} s after ${WARM} s warm-up; simulator \`--max-num-seqs 256\`."
    echo
    echo "- Simulator **$(fmt "$s" 0) req/s** vs baseline $(fmt "$b" 0) req/s: **$(ratio "$s" "$b")** (target ≥ 50%)."
    echo "- Server CPU per request: simulator $(fmt "$(field sim-nonstream .server_cpu_ms_per_request)" 3) ms, baseline $(fmt "$(field baseline-nonstream .server_cpu_ms_per_request)" 3) ms."
    [ -n "${hey_sim:-}" ] && echo "- \`hey -z ${NS_SECONDS}s -c 64 -m POST\` (chat, 16 tokens): simulator $(fmt "$hey_sim" 0) req/s, baseline $(fmt "$hey_base" 0) req/s: $(ratio "$hey_sim" "$hey_base")."
    table baseline-nonstream sim-nonstream
  } >>"$OUT"
fi

# 3. Independent clients on fresh processes: wrk and hey (not the project's generator) against the simulator
#    (`--mode echo --max-num-seqs 1000`) and the raw app, one after the other in the same run.
#    Per body: "fresh" = a new process, wrk 3 s warm-up then 10 s; "cold curve" = another new process, req/s in
#    each 1 s wrk run over its first CURVE seconds; "warm" = that same process after the curve, wrk 10 s runs
#    alternating simulator / raw app; then hey on the warm processes.
if want clients; then
  if ! command -v wrk >/dev/null; then
    { echo; echo "## Independent clients (wrk, hey)"; echo; echo "Skipped: \`wrk\` is not installed (Debian: \`apt-get install wrk hey\`)."; } >>"$OUT"
  else
    QWEN=Qwen/Qwen2.5-1.5B-Instruct
    PROMPT="Hello, how are you today? Please tell me a short story."
    printf '%s' '{"model":"'$QWEN'","messages":[{"role":"user","content":"'"$PROMPT"'"}],"max_tokens":32}' >"$WORK/chat.json"
    printf '%s' '{"model":"'$QWEN'","prompt":"'"$PROMPT"'","max_tokens":32}' >"$WORK/completion.json"
    for b in chat completion; do
      { echo 'wrk.method = "POST"'; echo 'wrk.headers["Content-Type"] = "application/json"'; echo "wrk.body = '$(cat "$WORK/$b.json")'"; } >"$WORK/$b.lua"
    done
    if [ $SMOKE = 1 ]; then
      CW_WARM=1; CW_SECONDS=1; CURVE=2; WARM_REPS=1; BODIES="chat"
    else
      CW_WARM=3; CW_SECONDS=10; CURVE=30; WARM_REPS=2; BODIES="chat completion"
    fi
    path_of() { [ "$1" = chat ] && echo /v1/chat/completions || echo /v1/completions; }
    # wrk_rps SECONDS PORT BODY: req/s of one `wrk -t2 -c64` run; a non-2xx answer or no answer at all fails the run.
    wrk_rps() {
      local out
      out=$(wrk -t2 -c64 -d"$1"s -s "$WORK/$3.lua" "http://127.0.0.1:$2$(path_of "$3")" 2>&1)
      echo "$out" >>"$WORK/wrk.log"
      if grep -q 'Non-2xx' <<<"$out" || ! grep -q 'Requests/sec' <<<"$out"; then echo "wrk against :$2 ($3): $out" >&2; touch "$WORK/wrk-failed"; fi
      awk '/Requests\/sec/{printf "%.0f", $2}' <<<"$out"
    }
    # curve PORT BODY: req/s in each of CURVE consecutive 1 s wrk runs.
    curve() { local s; for s in $(seq "$CURVE"); do printf '%s ' "$(wrk_rps 1 "$1" "$2")"; done; }
    sim_args=(--mode echo --max-num-seqs 1000)
    { echo; echo "## Independent clients: \`wrk -t2 -c64\` and \`hey -c 64\` on fresh processes"; echo
      echo "Simulator \`--model $QWEN ${sim_args[*]}\` vs the raw Kestrel app (bench/Baseline), same bodies:"
      echo "chat \`$(cat "$WORK/chat.json")\`, completion \`$(cat "$WORK/completion.json")\`."
      echo "Fresh: a new process, \`wrk\` ${CW_WARM} s warm-up then ${CW_SECONDS} s. Cold curve: another new process, req/s of each 1 s \`wrk\` run from \`/ready\` on."
      echo "Warm: that process after its curve, ${CW_SECONDS} s \`wrk\` runs alternating simulator and raw app (${WARM_REPS} each). Targets: fresh ≥ 50 %, warm ≥ 70 %."; echo
      echo "| body | fresh sim | fresh raw | ratio | warm sim | warm raw | ratio | hey warm sim | hey warm raw | ratio |"
      echo "|---|---|---|---|---|---|---|---|---|---|"; } >>"$OUT"
    : >"$WORK/curves.md"
    for body in $BODIES; do
      SIM_MODEL=$QWEN start_sim "${sim_args[@]}"; wrk_rps "$CW_WARM" "$PORT" "$body" >/dev/null; fs=$(wrk_rps "$CW_SECONDS" "$PORT" "$body"); stop_server
      SIM_MODEL=$QWEN start_baseline; wrk_rps "$CW_WARM" "$BPORT" "$body" >/dev/null; fb=$(wrk_rps "$CW_SECONDS" "$BPORT" "$body"); stop_server
      SIM_MODEL=$QWEN start_sim "${sim_args[@]}"; SIM_PID=$SERVER_PID; cs=$(curve "$PORT" "$body")
      SIM_MODEL=$QWEN start_baseline; BASE_PID=$SERVER_PID; cb=$(curve "$BPORT" "$body")
      ws=(); wb=()
      for _ in $(seq "$WARM_REPS"); do ws+=("$(wrk_rps "$CW_SECONDS" "$PORT" "$body")"); wb+=("$(wrk_rps "$CW_SECONDS" "$BPORT" "$body")"); done
      hs="–"; hb="–"
      if command -v hey >/dev/null; then
        run_hey() { hey -z "${CW_SECONDS}s" -c 64 -m POST -T application/json -D "$WORK/$2.json" "http://127.0.0.1:$1$(path_of "$2")" | awk '/Requests\/sec/{printf "%.0f", $2}'; }
        hs=$(run_hey "$PORT" "$body"); hb=$(run_hey "$BPORT" "$body")
      fi
      SERVER_PID=$SIM_PID; stop_server; SERVER_PID=$BASE_PID; stop_server
      mean() { printf '%s\n' "$@" | awk '{s+=$1; n++} END{if (n) printf "%.0f", s/n}'; }
      ms=$(mean "${ws[@]}"); mb=$(mean "${wb[@]}")
      echo "| $body | $fs | $fb | **$(ratio "$fs" "$fb")** | $ms (${ws[*]}) | $mb (${wb[*]}) | **$(ratio "$ms" "$mb")** | $hs | $hb | $(ratio "$hs" "$hb") |" >>"$OUT"
      { echo "| $body | simulator | $cs|"; echo "| $body | raw app | $cb|"; } >>"$WORK/curves.md"
    done
    { echo; echo "Cold curve, req/s in each second after \`/ready\` (\`wrk -t2 -c64 -d1s\` back to back):"; echo
      echo "| body | server | req/s per second |"; echo "|---|---|---|"; cat "$WORK/curves.md"; } >>"$OUT"
    [ -e "$WORK/wrk-failed" ] && FAILED=1
  fi
fi

# 4. 1,000 streams from a fresh process (TTFT 100 ms, ITL 50 ms, 50 tokens, ignore_eos, 2,000 requests ramped
#    over 1 s, load starts right after /ready): the raw SSE app (Task.Delay and precise timer) and the simulator,
#    alternating. RSS of the simulator at idle (just ready) and at peak under the streams.
if want fresh-streams; then
  : >"$WORK/rows.md"
  if [ $SMOKE = 1 ]; then FS_C=20; FS_N=40; FS_REPS=1; else FS_C=1000; FS_N=2000; FS_REPS=2; fi
  fs_args=(--concurrency "$FS_C" --requests "$FS_N" --stream --ignore-eos --output-tokens $TOKENS --prompt-tokens 32
    --expect-ttft-ms $TTFT --expect-itl-ms $ITL --ramp 1 --warmup 0)
  rss_mb() { awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$1/status" 2>/dev/null; }
  names=(); idle=()
  for rep in $(seq "$FS_REPS"); do
    start_baseline --time-to-first-token ${TTFT}ms --inter-token-latency ${ITL}ms
    load "fresh-baseline-$FS_C-$rep" --url "http://127.0.0.1:$BPORT" "${fs_args[@]}"; stop_server
    start_baseline --time-to-first-token ${TTFT}ms --inter-token-latency ${ITL}ms --timer precise
    load "fresh-precise-$FS_C-$rep" --url "http://127.0.0.1:$BPORT" "${fs_args[@]}"; stop_server
    start_sim --max-num-seqs "$FS_C" --max-waiting-queue-length "$FS_C" --time-to-first-token ${TTFT}ms --inter-token-latency ${ITL}ms
    idle+=("$(rss_mb "$SERVER_PID")")
    load "fresh-sim-$FS_C-$rep" --url "http://127.0.0.1:$PORT" "${fs_args[@]}"; stop_server
    names+=("fresh-baseline-$FS_C-$rep" "fresh-precise-$FS_C-$rep" "fresh-sim-$FS_C-$rep")
  done
  {
    echo
    echo "## ${FS_C} streams from a fresh process (TTFT ${TTFT} ms, ITL ${ITL} ms, ${TOKENS} tokens, ${FS_N} requests ramped over 1 s)"
    echo
    echo "Load starts as soon as \`/ready\` is 200. Errors = measured − configured, ms, p50 / p99. Target: simulator TTFT err p50"
    echo "and ITL err p99 within 2 ms of the raw SSE app's. RSS: simulator right after \`/ready\` / peak under the streams."
    echo
    echo "| run | raw (Task.Delay) TTFT err | raw ITL err | raw precise TTFT err | raw precise ITL err | sim TTFT err | sim ITL err | errors r/p/s | sim RSS idle / peak MB | idle % |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    pair() { echo "$(fmt "$(field "$1" "$2.p50")" 2) / $(fmt "$(field "$1" "$2.p99")" 2)"; }
    for rep in $(seq "$FS_REPS"); do
      B="fresh-baseline-$FS_C-$rep"; P="fresh-precise-$FS_C-$rep"; S="fresh-sim-$FS_C-$rep"
      echo "| $rep | $(pair $B .ttft_error) | $(pair $B .itl_error) | $(pair $P .ttft_error) | $(pair $P .itl_error) | $(pair $S .ttft_error) | $(pair $S .itl_error) | $(field $B .errors)/$(field $P .errors)/$(field $S .errors) | ${idle[$((rep - 1))]} / $(fmt "$(field $S .server_peak_rss_mb)" 0) | $(fmt "$(field $S .machine.idle)" 0) |"
    done
    table "${names[@]}"
  } >>"$OUT"
fi

# 5. Concurrent streams: TTFT 100 ms, ITL 50 ms, 50 tokens, one rank with max-num-seqs >= concurrency.
if want streams; then
  #    Workers start spread over one stream's lifetime, so steady state has streams in every phase.
  stream_args=(--stream --ignore-eos --output-tokens $TOKENS --prompt-tokens 32 --expect-ttft-ms $TTFT --expect-itl-ms $ITL
    --ramp "$STREAM_LIFE" --warmup "$(awk "BEGIN{print $STREAM_LIFE + 1}")" --duration "$STREAM_SECONDS")
  : >"$WORK/rows.md"
  names=()
  for c in $LEVELS; do
    start_baseline --time-to-first-token ${TTFT}ms --inter-token-latency ${ITL}ms
    load "baseline-streams-$c" --url "http://127.0.0.1:$BPORT" --concurrency "$c" "${stream_args[@]}"
    stop_server
    start_baseline --time-to-first-token ${TTFT}ms --inter-token-latency ${ITL}ms --timer precise
    load "precise-baseline-streams-$c" --url "http://127.0.0.1:$BPORT" --concurrency "$c" "${stream_args[@]}"
    stop_server
    start_sim --max-num-seqs "$c" --max-waiting-queue-length "$c" --time-to-first-token ${TTFT}ms --inter-token-latency ${ITL}ms
    load "sim-streams-$c" --url "http://127.0.0.1:$PORT" --concurrency "$c" "${stream_args[@]}"
    stop_server
    names+=("baseline-streams-$c" "precise-baseline-streams-$c" "sim-streams-$c")
  done
  {
    echo
    echo "## Concurrent streams (TTFT ${TTFT} ms, ITL ${ITL} ms, ${TOKENS} tokens, one rank)"
    echo
    echo "Errors are measured minus configured, in ms. Target: ITL and TTFT error p50 ≤ 1 ms, p99 ≤ 5 ms, every request completes."
    echo
    echo "Baseline = raw Kestrel with Task.Delay per token (the simulator before phase 2); precise = the same with one"
    echo "deadline-timer thread (\`--timer precise\`, as the simulator now paces). Last column: machine idle % during the simulator run."
    echo
    echo "| concurrency | baseline TTFT err p50/p99 | baseline ITL err p50/p99 | precise TTFT err p50/p99 | precise ITL err p50/p99 | sim TTFT err p50/p99 | sim ITL err p50/p99 | errors b/p/s | sim/baseline tok/s | idle % |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    pair() { echo "$(fmt "$(field "$1" "$2.p50")" 2) / $(fmt "$(field "$1" "$2.p99")" 2)"; }
    for c in $LEVELS; do
      B="baseline-streams-$c"; P="precise-baseline-streams-$c"; S="sim-streams-$c"
      echo "| $c | $(pair $B .ttft_error) | $(pair $B .itl_error) | $(pair $P .ttft_error) | $(pair $P .itl_error) | $(pair $S .ttft_error) | $(pair $S .itl_error) | $(field $B .errors)/$(field $P .errors)/$(field $S .errors) | $(ratio "$(field $S .output_tokens_per_second)" "$(field $B .output_tokens_per_second)") | $(fmt "$(field $S .machine.idle)" 0) |"
    done
    table "${names[@]}"
  } >>"$OUT"
fi

# 6. Eight DP ranks under load at once vs one rank at 1/8 of the load.
if want dp; then
  : >"$WORK/rows.md"
  per_rank=$((DP_TOTAL / 8))
  start_sim --max-num-seqs "$per_rank" --time-to-first-token ${TTFT}ms --inter-token-latency ${ITL}ms
  load "sim-1rank-$per_rank" --url "http://127.0.0.1:$PORT" --concurrency "$per_rank" "${stream_args[@]}"
  stop_server
  urls=(); for r in $(seq 0 7); do urls+=(--url "http://127.0.0.1:$((PORT + r))"); done
  start_sim --data-parallel-size 8 --max-num-seqs "$per_rank" --time-to-first-token ${TTFT}ms --inter-token-latency ${ITL}ms
  load "sim-8ranks-$DP_TOTAL" "${urls[@]}" --concurrency "$DP_TOTAL" "${stream_args[@]}"
  stop_server
  {
    echo
    echo "## Eight DP ranks at once (${DP_TOTAL} streams) vs one rank at 1/8 (${per_rank} streams)"
    echo
    if command -v jq >/dev/null; then
      echo "| rank URL | completed | errors | TTFT err p50/p99 | ITL err p50/p99 |"
      echo "|---|---|---|---|---|"
      jq -r '.targets[] | "| \(.url) | \(.completed) | \(.errors) | \(.ttft_error.p50*100|round/100) / \(.ttft_error.p99*100|round/100) | \(.itl_error.p50*100|round/100) / \(.itl_error.p99*100|round/100) |"' "$WORK/sim-8ranks-$DP_TOTAL.json"
      echo "| one rank alone, ${per_rank} streams | $(field "sim-1rank-$per_rank" .completed) | $(field "sim-1rank-$per_rank" .errors) | $(fmt "$(field "sim-1rank-$per_rank" .ttft_error.p50)" 2) / $(fmt "$(field "sim-1rank-$per_rank" .ttft_error.p99)" 2) | $(fmt "$(field "sim-1rank-$per_rank" .itl_error.p50)" 2) / $(fmt "$(field "sim-1rank-$per_rank" .itl_error.p99)" 2) |"
    fi
    table "sim-1rank-$per_rank" "sim-8ranks-$DP_TOTAL"
  } >>"$OUT"
fi

# 7. RSS with N idle-waiting streams: TTFT long enough that every stream sits waiting for its first token.
if want memory; then
  : >"$WORK/rows.md"
  idle_ttft=$([ $SMOKE = 1 ] && echo 1000 || echo 20000)
  idle_args=(--concurrency "$IDLE_STREAMS" --requests "$IDLE_STREAMS" --stream --ignore-eos --output-tokens 1 --warmup 0 --ramp "$([ $SMOKE = 1 ] && echo 0.5 || echo 8)")
  start_baseline --time-to-first-token ${idle_ttft}ms
  load "baseline-idle-$IDLE_STREAMS" --url "http://127.0.0.1:$BPORT" "${idle_args[@]}"
  stop_server
  start_sim --max-num-seqs "$IDLE_STREAMS" --max-waiting-queue-length "$IDLE_STREAMS" --time-to-first-token ${idle_ttft}ms
  load "sim-idle-$IDLE_STREAMS" --url "http://127.0.0.1:$PORT" "${idle_args[@]}"
  stop_server
  {
    echo
    echo "## Memory: ${IDLE_STREAMS} idle-waiting streams (TTFT ${idle_ttft} ms, 1 token)"
    echo
    echo "Peak RSS: simulator **$(fmt "$(field "sim-idle-$IDLE_STREAMS" .server_peak_rss_mb)" 0) MB**, baseline $(fmt "$(field "baseline-idle-$IDLE_STREAMS" .server_peak_rss_mb)" 0) MB (target < 1024 MB at 10,000)."
    table "baseline-idle-$IDLE_STREAMS" "sim-idle-$IDLE_STREAMS"
  } >>"$OUT"
fi

echo "results: $OUT" >&2
if [ $FAILED = 1 ]; then
  echo "some runs had failed requests (see above)" >&2
  exit 1
fi
