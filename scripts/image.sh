#!/usr/bin/env bash
# image.sh DIST VERSION: builds the vigil image (Dockerfile) as
# vigil:VERSION and saves it to DIST/vigil-image.tar. It uses the Docker
# engine at DOCKER_HOST when one answers, and otherwise starts a private
# dockerd (its own socket and data root under DIST) for the build.
set -euo pipefail
dist=${1:?dist dir}
version=${2:?version}
go=${GO:-go}
# A Docker tag takes letters, digits, "_", "." and "-": 0.1.0-dev+abc is
# tagged 0.1.0-dev-abc (vigil version still prints the version itself).
tag="vigil:${version//+/-}"
ctx="$dist/image"
rm -rf "$ctx"
mkdir -p "$ctx"
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 "$go" build -trimpath -buildvcs=false -tags "${GO_TAGS-disable_grpc_modules}" \
	-ldflags "-s -w -buildid= -X main.version=${version}" -o "$ctx/vigil" ./cmd/vigil
cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >"$ctx/passwd"
echo 'nonroot:x:65532:' >"$ctx/group"

if ! docker info >/dev/null 2>&1; then
	command -v dockerd >/dev/null || { echo "image: no Docker engine answers and dockerd is not installed (apt-get install docker.io)" >&2; exit 1; }
	state=$(mktemp -d /tmp/vigil-dockerd.XXXXXX)
	export DOCKER_HOST="unix://$state/docker.sock"
	dockerd --host "$DOCKER_HOST" --data-root "$state/data" --exec-root "$state/exec" --pidfile "$state/docker.pid" \
		--bridge none --iptables=false --ip-masq=false >"$state/dockerd.log" 2>&1 &
	daemon=$!
	trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null; rm -rf "$state"' EXIT
	for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
	docker info >/dev/null 2>&1 || { echo "image: dockerd did not start:" >&2; tail -20 "$state/dockerd.log" >&2; exit 1; }
fi

docker build -q -t "$tag" -f Dockerfile "$ctx" >/dev/null
# The image runs vigil as the non-root user, with nothing else in it.
got=$(docker run --rm --network none "$tag" version)
case "$got" in
vigil*) ;;
*) echo "image: $tag printed $got" >&2; exit 1 ;;
esac
[ "$(docker run --rm --network none --entrypoint /usr/local/bin/vigil "$tag" version)" = "$got" ]
docker save -o "$dist/vigil-image.tar" "$tag"
echo "$tag ($got) saved to $dist/vigil-image.tar"
