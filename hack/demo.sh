#!/usr/bin/env bash
# The demo on the local cluster (KUBECONFIG points at it): install the CRD, start the
# operator, apply the quickstart, and watch it become Ready.
#
#   hack/demo.sh         runs the demo; its operator keeps running for you to explore
#   hack/demo.sh stop    stops the processes the demo started (the cluster stays up)
set -euo pipefail
cd "$(dirname "$0")/.."
kubectl=bin/kubectl
namespace=demo
pids=.cluster/demo
operator_log=.cluster/logs/operator.log
operator_pid=$pids/operator.pid

step() { printf '\n== %s\n' "$*"; }

# Stops every process the demo left running (each recorded as $pids/NAME.pid, its own group).
stop_demo() {
	[ -d "$pids" ] || return 0
	for pid_file in "$pids"/*.pid; do
		[ -f "$pid_file" ] || continue
		pid=$(cat "$pid_file")
		if kill -0 "$pid" 2>/dev/null; then
			echo "[demo] stopping the demo's $(basename "$pid_file" .pid) (pid $pid)"
			kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
			kill -KILL -- "-$pid" 2>/dev/null || true
		fi
		rm -f "$pid_file"
	done
}

if [ "${1:-}" = stop ]; then
	stop_demo
	exit 0
fi
mkdir -p "$pids" .cluster/logs

step "nodes (kwok fake nodes: Pods on them become Running without containers)"
$kubectl get nodes

step "install the ContactCenter CRD"
$kubectl apply --server-side --force-conflicts -f crds/switchboard.io_contactcenters.yaml
$kubectl wait --for=condition=Established --timeout=30s crd/contactcenters.switchboard.io

step "start the operator, watching namespace $namespace (log: $operator_log)"
stop_demo
setsid .venv/bin/switchboard run --namespace "$namespace" --metrics-port 18080 --health-port 18081 \
	>>"$operator_log" 2>&1 </dev/null &
echo $! >"$operator_pid"
for _ in $(seq 50); do
	curl -fs http://127.0.0.1:18081/healthz >/dev/null 2>&1 && break
	sleep 0.2
done
curl -fs http://127.0.0.1:18081/healthz >/dev/null || { tail -20 "$operator_log"; exit 1; }
echo "operator running (pid $(cat "$operator_pid")), metrics on http://127.0.0.1:18080/metrics"

step "apply examples/quickstart.yaml to namespace $namespace (Pod Security: restricted)"
$kubectl create namespace "$namespace" --dry-run=client -o yaml | $kubectl apply -f - >/dev/null
$kubectl label namespace "$namespace" --overwrite pod-security.kubernetes.io/enforce=restricted >/dev/null
$kubectl apply -n "$namespace" -f examples/quickstart.yaml

step "kubectl get contactcenters, until Ready"
name=$(.venv/bin/python -c 'import sys, yaml; print(next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "ContactCenter")["metadata"]["name"])' examples/quickstart.yaml)
for _ in $(seq 60); do
	$kubectl get contactcenters -n "$namespace" --no-headers 2>/dev/null | sed 's/^/  /'
	[ "$($kubectl get contactcenter "$name" -n "$namespace" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] && break
	sleep 1
done
$kubectl get contactcenters -n "$namespace"

step "its children (kubectl get all,cm,secret,netpol,pdb,pvc -l app.kubernetes.io/instance=$name)"
$kubectl get all,configmaps,secrets,networkpolicies,poddisruptionbudgets,persistentvolumeclaims \
	-n "$namespace" -l "app.kubernetes.io/instance=$name"

step "what the operator reports"
$kubectl get contactcenter "$name" -n "$namespace" -o jsonpath='{range .status.conditions[*]}{.type}={.status} ({.reason}) {.message}{"\n"}{end}'

# --- SLA autoscaling: a simulated morning ramp, time-lapsed -------------------------------
speed=30
prometheus_url=$(cat .cluster/prometheus-url)
step "SLA autoscaling: a morning ramp, ${speed}x time-lapse"
cat <<TXT
The simulator plays a contact center's morning (quiet, a ramp to 5x, a plateau, quiet again)
at ${speed}x speed, exports the metrics contract to a real Prometheus ($prometheus_url), and
serves as many conversations at once as the bot has ready pods x concurrency. The operator
reads Prometheus every 5 s and sizes the bot with Erlang C for 80% answered within 30
simulated seconds (1 s of wall time at ${speed}x).
TXT
.venv/bin/python - "$prometheus_url" <<'PY' | $kubectl apply -n "$namespace" -f -
import sys, yaml
manifest = yaml.safe_load(open("examples/sla-autoscaling.yaml"))
manifest["metadata"]["name"] = "morning"
spec = manifest["spec"]
spec["bot"].update(concurrency=4, autoscaling={"minReplicas": 1, "maxReplicas": 30,
    "scaleDown": {"stabilizationWindow": "15s", "maxReplicasPerStep": 1, "maxPercentPerStep": 10}})
spec["agents"] = {"replicas": 1, "seatsPerReplica": 1}
spec["sla"] = {"serviceLevel": {"target": 0.8, "answerWithinSeconds": 1}, "maxAbandonRate": 0.05}
spec["metrics"] = {"prometheusURL": sys.argv[1], "interval": "5s", "rateWindow": "10s",
                   "recentWindow": "5s", "handleTimeWindow": "20s"}
spec["forecast"] = {"enabled": False}
print(yaml.safe_dump(manifest))
PY
$kubectl wait --for=condition=Ready --timeout=60s contactcenter/morning -n "$namespace" >/dev/null
simulator_log=.cluster/logs/simulator.log
.venv/bin/switchboard simulate --serve 0 --address 127.0.0.1 --trace hack/demo-morning-ramp.csv \
	--speed "$speed" --within 30 --bot-aht 120 --aht-cv 0.5 --patience 300 --bot-containment 1 \
	--contact-center morning --namespace "$namespace" >"$simulator_log" 2>&1 &
simulator=$!
echo $simulator >"$pids/simulator.pid"
trap 'kill $simulator 2>/dev/null || true; rm -f "$pids/simulator.pid"' EXIT
for _ in $(seq 50); do
	address=$(grep -oE 'serving metrics on [0-9.]+:[0-9]+' "$simulator_log" | awk '{print $4}') && [ -n "$address" ] && break
	sleep 0.2
done
.venv/bin/python hack/prometheus.py targets add "$address" >/dev/null
.venv/bin/python hack/demo_watch.py morning "$namespace" --speed "$speed" --seconds 110
kill $simulator 2>/dev/null || true
.venv/bin/python hack/prometheus.py targets remove "$address" >/dev/null
echo
echo "the last scaling events:"
$kubectl get events -n "$namespace" --field-selector reason=Scaled --sort-by=.lastTimestamp \
	-o custom-columns=TIME:.lastTimestamp,MESSAGE:.message | tail -5

echo
echo "The cluster, Prometheus and the operator keep running: KUBECONFIG=.cluster/kubeconfig bin/kubectl get cc -A"
echo "Stop the demo's operator with: hack/demo.sh stop (make test does it first); everything with: make cluster-down"
