#!/usr/bin/env bash
# The demo on the local cluster (KUBECONFIG points at it): nodes and a workload running.
set -euo pipefail
cd "$(dirname "$0")/.."
kubectl=bin/kubectl

echo "== nodes (kwok fake nodes; Pods on them become Running without containers)"
$kubectl get nodes -o wide
echo
echo "== a 3-replica workload"
$kubectl create namespace demo --dry-run=client -o yaml | $kubectl apply -f - >/dev/null
$kubectl -n demo create deployment hello --image=registry.example/hello:1.0 --replicas=3 \
	--dry-run=client -o yaml | $kubectl apply -f -
$kubectl -n demo rollout status deployment/hello --timeout=60s
$kubectl -n demo get pods -o wide
echo
echo "The cluster keeps running: KUBECONFIG=.cluster/kubeconfig bin/kubectl get pods -A"
echo "Stop it with: make cluster-down"
