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
# A run before this one left its contact center autoscaled and scaled: begin in a new namespace.
$kubectl delete namespace "$namespace" --ignore-not-found --timeout=120s
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
$kubectl create namespace "$namespace"
$kubectl label namespace "$namespace" pod-security.kubernetes.io/enforce=restricted
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
# One ready pod per Deployment (each wants one until the autoscaler says otherwise), and no
# pod of an older template left: a roll is over.
one_each = sorted(p["deployment"] for p in pods) == sorted(state["services"])
sys.exit(0 if pods and one_each and all(p["ready"] for p in pods) else 1)
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

# --- SLA autoscaling on real traffic --------------------------------------------------------
prometheus_url=$(cat .cluster/prometheus-url)
step "SLA autoscaling on real traffic: the load generator ramps, the operator scales the bot"
cat <<TXT
Autoscaling goes on, time-compressed so it shows in two minutes: 80% of conversations answered
by the bot within 2 s, 2 conversations per bot replica, the metrics contract read from a real
Prometheus ($prometheus_url; pods.py registered every pod's metrics port) every 5 s. Then
switchboard loadgen plays customers on the web chat (and agents for the handoffs): 20 s quiet
(0.2 conversations/s), a 40 s ramp to 2/s, a minute at 2/s. One replica cannot keep up with
the ramp: the service level falls, the operator sizes the bot with Erlang C on what it
measures, pods.py starts the bot processes it asks for, and the service level recovers.
TXT
patch=$(cat <<JSON
{"spec": {
  "bot": {"concurrency": 2, "autoscaling": {"minReplicas": 1, "maxReplicas": 10,
          "scaleUp": {"stabilizationWindow": "0s", "maxReplicasPerStep": 10},
          "scaleDown": {"stabilizationWindow": "10m"}}},
  "sla": {"serviceLevel": {"target": 0.8, "answerWithinSeconds": 2}},
  "metrics": {"prometheusURL": "$prometheus_url", "interval": "5s", "rateWindow": "20s",
              "recentWindow": "10s", "handleTimeWindow": "30s"},
  "forecast": {"enabled": false}}}
JSON
)
echo "kubectl patch contactcenter $name --type merge -p '$(echo "$patch" | tr -s ' \n' ' ')'"
$kubectl patch contactcenter "$name" -n "$namespace" --type merge -p "$patch"
echo "(the wiring changed: pods.py rolls the pods, as a Deployment would)"
sleep 3
for _ in $(seq 60); do
	serving 2>/dev/null && break
	sleep 1
done
cat >"$pids/ramp.csv" <<CSV
start,arrivals
09:00:00,2
09:00:10,2
09:00:20,6.5
09:00:30,11
09:00:40,15.5
09:00:50,20
09:01:00,20
09:01:10,20
09:01:20,20
09:01:30,20
09:01:40,20
09:01:50,20
CSV
$kubectl get secret "$name-agents-token" -n "$namespace" -o jsonpath='{.data.token}' | base64 -d >"$pids/agents-token"
services=$(.venv/bin/python -c 'import json, sys; s = json.load(open(sys.argv[1]))["services"]; print(s[sys.argv[2] + "-web"], s[sys.argv[2] + "-agents"])' "$pods_state" "$name")
read -r web_port agents_port <<<"$services"
loadgen_log=.cluster/logs/demo-loadgen.log
setsid .venv/bin/switchboard loadgen --webchat "http://127.0.0.1:$web_port" \
	--agents-url "http://127.0.0.1:$agents_port" --agents-token-file "$pids/agents-token" \
	--agents 4 --agent-capacity 3 --aht 5 --agent-reply 1 \
	--trace "$pids/ramp.csv" --think 3 --patience inf --within 2 --drain 20 \
	--corpus examples/models/telco-corpus.yaml --model examples/models/telco-support-2.0.0.yaml \
	>"$loadgen_log" 2>&1 </dev/null &
echo $! >"$pids/loadgen.pid"
.venv/bin/python hack/demo_watch.py "$namespace" "$name" --while-running "$(cat "$pids/loadgen.pid")"
rm -f "$pids/loadgen.pid"
echo
echo "the load generator's summary (log: $loadgen_log):"
sed -n '/^elapsed/,$p' "$loadgen_log" | sed 's/^/  /'
echo
echo "the scaling events:"
$kubectl get events -n "$namespace" --field-selector reason=Scaled --sort-by=.lastTimestamp \
	-o custom-columns=TIME:.lastTimestamp,MESSAGE:.message | tail -6

echo
echo "Talk to it yourself: the customer page http://127.0.0.1:$web_port/ and the agent"
echo "workspace http://127.0.0.1:$agents_port/ (token: $(cat "$pids/agents-token"))."
echo
echo "The cluster, Prometheus, RabbitMQ, PostgreSQL, the operator and the pods keep running:"
echo "  KUBECONFIG=.cluster/kubeconfig bin/kubectl get cc -A"
echo "Stop the demo's processes with: hack/demo.sh stop (make test does it first); everything"
echo "with: make cluster-down"
