#!/usr/bin/env bash
# The demo on the local cluster (KUBECONFIG points at it): install the CRD, start the operator,
# apply the quickstart (its queue and database the local RabbitMQ and PostgreSQL), run its pods
# as local processes, play a conversation through the bot to an agent, then drive it with the
# load generator and watch the operator scale the bot on what Prometheus measures.
#
#   hack/demo.sh         runs the demo; its operator and pods keep running for you to explore
#   hack/demo.sh stop    stops the processes the demo started (the cluster stays up)
set -euo pipefail
cd "$(dirname "$0")/.."
kubectl=bin/kubectl
namespace=demo
pids=.cluster/demo
operator_log=.cluster/logs/operator.log
operator_pid=$pids/operator.pid
pods_log=.cluster/logs/demo-pods.log

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
			# pods.py gives each of its pods 10 s to stop before it exits itself.
			for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
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

step "the contact center's queue and database: the local RabbitMQ and PostgreSQL"
cat <<TXT
The quickstart's built-in queue and database would be StatefulSets, and kwok runs no containers.
So its queue and database are external, as a user with a managed RabbitMQ and PostgreSQL would
have them: Secrets holding the URIs of the local servers hack/ runs (a database of its own).
TXT
database_uri=$(.venv/bin/python - "$(cat .cluster/postgres-uri)" <<'PY'
import asyncio, sys, asyncpg
async def fresh(uri: str) -> None:
    server = await asyncpg.connect(uri)
    await server.execute("DROP DATABASE IF EXISTS demo WITH (FORCE)")
    await server.execute("CREATE DATABASE demo")
    await server.close()
asyncio.run(fresh(sys.argv[1]))
print(sys.argv[1].rpartition("/")[0] + "/demo")
PY
)
$kubectl create namespace "$namespace" --dry-run=client -o yaml | $kubectl apply -f - >/dev/null
$kubectl label namespace "$namespace" --overwrite pod-security.kubernetes.io/enforce=restricted >/dev/null
for secret in queue:"$(cat .cluster/rabbitmq-uri)" database:"$database_uri"; do
	$kubectl create secret generic "contact-${secret%%:*}" -n "$namespace" --from-literal=uri="${secret#*:}" \
		--dry-run=client -o yaml | $kubectl apply -f -
done

step "kubectl apply -k examples/models; examples/quickstart.yaml with that queue and database"
$kubectl apply -n "$namespace" -k examples/models
.venv/bin/python - <<'PY' >"$pids/quickstart.yaml"
import yaml
manifest = yaml.safe_load(open("examples/quickstart.yaml"))
manifest["spec"]["queue"] = {"external": {"secretRef": {"name": "contact-queue"}}}
manifest["spec"]["database"] = {"external": {"secretRef": {"name": "contact-database"}}}
print(yaml.safe_dump(manifest, sort_keys=False), end="")
PY
sed -n '/^spec:/,$p' "$pids/quickstart.yaml" | sed 's/^/  /'
$kubectl apply -n "$namespace" -f "$pids/quickstart.yaml"
name=quickstart

step "kubectl get contactcenters, until Ready"
for _ in $(seq 60); do
	$kubectl get contactcenters -n "$namespace" --no-headers 2>/dev/null | sed 's/^/  /'
	[ "$($kubectl get contactcenter "$name" -n "$namespace" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] && break
	sleep 1
done
$kubectl get contactcenters -n "$namespace"

step "its children (kubectl get all,cm,secret,netpol,pdb -l app.kubernetes.io/instance=$name)"
$kubectl get all,configmaps,secrets,networkpolicies,poddisruptionbudgets \
	-n "$namespace" -l "app.kubernetes.io/instance=$name"

step "what the operator reports"
$kubectl get contactcenter "$name" -n "$namespace" -o jsonpath='{range .status.conditions[*]}{.type}={.status} ({.reason}) {.message}{"\n"}{end}'

step "its pods, run as local processes (hack/pods.py; log: $pods_log)"
cat <<TXT
kwok marks Pods Running without running anything, so hack/pods.py plays the kubelet: for each
of the ContactCenter's Deployments it keeps spec.replicas processes of the Switchboard image's
command running, with the environment and mounted ConfigMaps the operator rendered, and a
local port per Service. It follows the Deployments as the operator changes them.
TXT
setsid .venv/bin/python hack/pods.py "$namespace" "$name" --prometheus >"$pods_log" 2>&1 </dev/null &
echo $! >"$pids/pods.pid"
pods_state=.cluster/pods/$namespace/$name.json
serving() {
	.venv/bin/python - "$pods_state" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
pods = state["pods"]
every = {p["deployment"] for p in pods} == set(state["services"])
sys.exit(0 if pods and every and all(p["ready"] for p in pods) else 1)
PY
}
for _ in $(seq 60); do
	[ -f "$pods_state" ] && serving 2>/dev/null && break
	sleep 1
done
serving || { tail -20 "$pods_log"; exit 1; }
.venv/bin/python - "$pods_state" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
for pod in state["pods"]:
    port = state["services"][pod["deployment"]]
    print(f"  {pod['pod']:36} pid {pod['pid']:<7} ready   service {pod['deployment']} on 127.0.0.1:{port}")
PY

step "a conversation: the bot answers, hands off, an agent replies"
.venv/bin/python hack/demo_conversation.py "$namespace" "$name" --channel web --database "$database_uri"

echo
echo "The cluster, Prometheus and the operator keep running: KUBECONFIG=.cluster/kubeconfig bin/kubectl get cc -A"
echo "Stop the demo's operator with: hack/demo.sh stop (make test does it first); everything with: make cluster-down"
