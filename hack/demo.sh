#!/usr/bin/env bash
# The demo on the local cluster (KUBECONFIG points at it): install the CRD, start the
# operator, apply the quickstart, and watch it become Ready.
set -euo pipefail
cd "$(dirname "$0")/.."
kubectl=bin/kubectl
namespace=demo
operator_log=.cluster/logs/operator.log
operator_pid=.cluster/operator.pid

step() { printf '\n== %s\n' "$*"; }

step "nodes (kwok fake nodes: Pods on them become Running without containers)"
$kubectl get nodes

step "install the ContactCenter CRD"
$kubectl apply --server-side --force-conflicts -f crds/switchboard.io_contactcenters.yaml
$kubectl wait --for=condition=Established --timeout=30s crd/contactcenters.switchboard.io

step "start the operator (log: $operator_log)"
if [ -f "$operator_pid" ] && kill -0 "$(cat "$operator_pid")" 2>/dev/null; then
	kill -TERM -- "-$(cat "$operator_pid")" 2>/dev/null || true
	sleep 1
fi
setsid .venv/bin/switchboard run --all-namespaces --metrics-port 18080 --health-port 18081 \
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
echo
echo "The cluster and the operator keep running: KUBECONFIG=.cluster/kubeconfig bin/kubectl get cc -A"
echo "Stop both with: make cluster-down"
