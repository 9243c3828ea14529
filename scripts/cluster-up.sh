#!/usr/bin/env bash
# Starts a local OrleansSim cluster: one redis-server for membership and three simulator processes
# (pod-0..pod-2, DP 2 each) joined into one Orleans cluster. Ctrl-C stops everything.
#
#   scripts/cluster-up.sh [extra simulator flags...]
#
# Environment: PODS, DP, BASE_PORT, REDIS_PORT, SILO_PORT, GATEWAY_PORT, MODEL, CLUSTER_ID, LOGS.
# pod-i serves its ranks on BASE_PORT + 10*i + r (default 8000/8001, 8010/8011, 8020/8021).
# Then: curl localhost:8000/cluster, or
#       dotnet run --project src/OrleansSim.Ctl -- status --cluster-connection 127.0.0.1:6390 --cluster-id orleanssim-local
set -euo pipefail
cd "$(dirname "$0")/.."

PODS="${PODS:-3}"
DP="${DP:-2}"
BASE_PORT="${BASE_PORT:-8000}"
REDIS_PORT="${REDIS_PORT:-6390}"
SILO_PORT="${SILO_PORT:-11111}"
GATEWAY_PORT="${GATEWAY_PORT:-30000}"
MODEL="${MODEL:-Qwen/Qwen2.5-1.5B-Instruct}"
CLUSTER_ID="${CLUSTER_ID:-orleanssim-local}"
LOGS="${LOGS:-$(mktemp -d -t orleanssim-cluster-XXXX)}"

command -v redis-server >/dev/null || { echo "redis-server not found (apt-get install redis-server)"; exit 1; }

pids=()
redis_pid=""
cleanup() {
  trap - EXIT INT TERM
  echo "stopping..."
  # Pods first (they drain and leave the membership table), then Redis.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$LOGS/redis.log" 2>&1 &
redis_pid=$!

dotnet build src/OrleansSim.Server -c Release -nologo -clp:ErrorsOnly >/dev/null
server="src/OrleansSim.Server/bin/Release/net10.0/OrleansSim.Server.dll"

for i in $(seq 0 $((PODS - 1))); do
  POD_NAME="pod-$i" POD_NAMESPACE="local" dotnet "$server" --model "$MODEL" \
    --port $((BASE_PORT + 10 * i)) --data-parallel-size "$DP" \
    --silo-port $((SILO_PORT + i)) --gateway-port $((GATEWAY_PORT + i)) \
    --cluster-provider redis --cluster-connection "127.0.0.1:$REDIS_PORT" --cluster-id "$CLUSTER_ID" \
    "$@" >"$LOGS/pod-$i.log" 2>&1 &
  pids+=($!)
done

for i in $(seq 0 $((PODS - 1))); do
  port=$((BASE_PORT + 10 * i))
  for _ in $(seq 1 120); do
    curl -sf "localhost:$port/ready" >/dev/null 2>&1 && break
    kill -0 "${pids[$i]}" 2>/dev/null || { echo "pod-$i exited:"; tail -n 20 "$LOGS/pod-$i.log"; exit 1; }
    sleep 0.5
  done
  echo "pod-$i ready on ports $port..$((port + DP - 1)) (log: $LOGS/pod-$i.log)"
done

echo "cluster '$CLUSTER_ID' up: curl localhost:$BASE_PORT/cluster; Ctrl-C stops it"
wait
