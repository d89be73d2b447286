#!/usr/bin/env bash
# Builds the local control plane's binaries from Go modules and links them into bin/, with the
# Gateway API's standard CRDs (bin/gateway-api-crds.yaml), the Prometheus Operator's
# PodMonitor CRD (bin/prometheus-operator-crds.yaml) and cert-manager's Certificate, Issuer and
# ClusterIssuer CRDs (bin/cert-manager-crds.yaml) from their Go modules.
#
# Binaries are cached outside the repository by version (and by the tools module's
# content), so only the first run pays for a build; a cold build of the Kubernetes
# components takes several minutes on two cores. A failed build stops here with the
# compiler's error, before anything is started.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${SWITCHBOARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

kubernetes=$(cat "$repo/hack/versions/kubernetes")
kwok=$(cat "$repo/hack/versions/kwok")
helm=$(cat "$repo/hack/versions/helm")
gateway_api=$(cat "$repo/hack/versions/gateway-api")
prometheus_operator=$(cat "$repo/hack/versions/prometheus-operator")
cert_manager=$(cat "$repo/hack/versions/cert-manager")

say() { printf '[build] %s\n' "$*" >&2; }

# build_with_progress NAME OUT DIR PACKAGE [go build flags...]
# Runs `go build -v` and reports how many of the packages it needs are compiled.
build_with_progress() {
	local name=$1 out=$2 dir=$3 package=$4
	shift 4
	local log total started pid
	log=$(mktemp)
	total=$(cd "$dir" && go list -deps "$package" | wc -l)
	started=$(date +%s)
	say "building $name ($total packages; a cold build takes minutes, later runs reuse the cache)"
	(cd "$dir" && go build -v -trimpath -o "$out.tmp" "$@" "$package") 2>"$log" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 20
		kill -0 "$pid" 2>/dev/null || break
		say "$name: $(grep -cE '^[^ :]+$' "$log" || true)/$total packages compiled, $(($(date +%s) - started)) s"
	done
	if ! wait "$pid"; then
		say "building $name failed:"
		grep -vE '^[^ :]+$' "$log" >&2 || cat "$log" >&2
		rm -f "$log" "$out.tmp"
		exit 1
	fi
	rm -f "$log"
	mv "$out.tmp" "$out"
	say "$name built in $(($(date +%s) - started)) s"
}

# go_install NAME VERSION PACKAGE OUTDIR: `go install` of a pinned tag into OUTDIR.
go_install() {
	local name=$1 version=$2 package=$3 outdir=$4 started
	started=$(date +%s)
	say "building $name $version"
	mkdir -p "$outdir.tmp"
	if ! GOBIN="$outdir.tmp" go install -trimpath -ldflags "-s -w" "$package@$version"; then
		say "building $name failed (compiler output above)"
		rm -rf "$outdir.tmp"
		exit 1
	fi
	rm -rf "$outdir" && mv "$outdir.tmp" "$outdir"
	say "$name built in $(($(date +%s) - started)) s"
}

# The tools module's content is part of the key: a changed main.go or go.sum rebuilds.
tools_hash=$(cat "$repo"/hack/k8s/go.mod "$repo"/hack/k8s/go.sum "$repo"/hack/k8s/main.go | sha256sum | cut -c1-12)
k8s_dir="$cache/kubernetes-$kubernetes-$tools_hash"
if [ ! -x "$k8s_dir/k8s" ]; then
	mkdir -p "$k8s_dir"
	minor=${kubernetes#v1.}
	minor=${minor%%.*}
	build_with_progress "Kubernetes $kubernetes (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl)" \
		"$k8s_dir/k8s" "$repo/hack/k8s" . \
		-ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$kubernetes -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
fi

kwok_dir="$cache/kwok-$kwok"
if [ ! -x "$kwok_dir/kwok" ] || [ ! -s "$kwok_dir/stages.yaml" ]; then
	go_install kwok "$kwok" sigs.k8s.io/kwok/cmd/kwok "$kwok_dir"
	# Standalone kwok needs Stage definitions; its module ships them.
	kwok_src=$(go mod download -json "sigs.k8s.io/kwok@$kwok" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
	for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
		pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
		echo "---"
		cat "$kwok_src/kustomize/stage/$stage.yaml"
	done >"$kwok_dir/stages.yaml"
fi
helm_dir="$cache/helm-$helm"
[ -x "$helm_dir/helm" ] || go_install helm "$helm" helm.sh/helm/v3/cmd/helm "$helm_dir"

# The Gateway API's CRDs ship in its Go module (config/crd/standard/): tests install them to
# see the operator maintain the bot's HTTPRoute. Nothing to build, one file to keep.
gateway_api_dir="$cache/gateway-api-$gateway_api"
if [ ! -s "$gateway_api_dir/standard-crds.yaml" ]; then
	say "downloading the Gateway API $gateway_api CRDs"
	gateway_api_src=$(go mod download -json "sigs.k8s.io/gateway-api@$gateway_api" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
	mkdir -p "$gateway_api_dir"
	for crd in "$gateway_api_src"/config/crd/standard/*.yaml; do
		echo "---"
		cat "$crd"
	done >"$gateway_api_dir/standard-crds.yaml.tmp"
	mv "$gateway_api_dir/standard-crds.yaml.tmp" "$gateway_api_dir/standard-crds.yaml"
fi

# The Prometheus Operator's PodMonitor CRD ships in its Go module (example/): tests install it
# to see the operator make a ContactCenter's PodMonitor.
prometheus_operator_dir="$cache/prometheus-operator-$prometheus_operator"
if [ ! -s "$prometheus_operator_dir/crds.yaml" ]; then
	say "downloading the Prometheus Operator $prometheus_operator CRDs"
	prometheus_operator_src=$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$prometheus_operator" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
	mkdir -p "$prometheus_operator_dir"
	cp "$prometheus_operator_src/example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml" \
		"$prometheus_operator_dir/crds.yaml.tmp"
	mv "$prometheus_operator_dir/crds.yaml.tmp" "$prometheus_operator_dir/crds.yaml"
fi

# cert-manager's CRDs ship in its Go module (deploy/crds/) as plain CRDs, generated by
# controller-gen (its Helm chart wraps the same files in templates; these need no rendering):
# tests install them to see the operator make the gateways' Certificate.
cert_manager_dir="$cache/cert-manager-$cert_manager"
if [ ! -s "$cert_manager_dir/crds.yaml" ]; then
	say "downloading the cert-manager $cert_manager CRDs"
	cert_manager_src=$(go mod download -json "github.com/cert-manager/cert-manager@$cert_manager" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
	mkdir -p "$cert_manager_dir"
	for kind in certificates issuers clusterissuers; do
		cat "$cert_manager_src/deploy/crds/cert-manager.io_$kind.yaml"
	done >"$cert_manager_dir/crds.yaml.tmp"
	mv "$cert_manager_dir/crds.yaml.tmp" "$cert_manager_dir/crds.yaml"
fi

mkdir -p "$repo/bin"
for role in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do
	ln -sfn "$k8s_dir/k8s" "$repo/bin/$role"
done
ln -sfn "$kwok_dir/kwok" "$repo/bin/kwok"
ln -sfn "$kwok_dir/stages.yaml" "$repo/bin/kwok-stages.yaml"
ln -sfn "$helm_dir/helm" "$repo/bin/helm"
ln -sfn "$gateway_api_dir/standard-crds.yaml" "$repo/bin/gateway-api-crds.yaml"
ln -sfn "$prometheus_operator_dir/crds.yaml" "$repo/bin/prometheus-operator-crds.yaml"
ln -sfn "$cert_manager_dir/crds.yaml" "$repo/bin/cert-manager-crds.yaml"
