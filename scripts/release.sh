#!/usr/bin/env bash
# release.sh DIST VERSION: static linux binaries of vigil, reproducible:
# two runs on one commit give the same bytes (no cgo, -trimpath, no build
# ID, no VCS stamp, archives with fixed owners, order and times).
set -euo pipefail
dist=${1:?dist dir}
version=${2:?version}
go=${GO:-go}
# Archive times are the commit's, not the build's.
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
rm -rf "$dist"
mkdir -p "$dist"
for arch in amd64 arm64; do
	name="vigil_${version}_linux_${arch}"
	work="$dist/.work/$name"
	mkdir -p "$work"
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch "$go" build -trimpath -buildvcs=false -tags "${GO_TAGS-disable_grpc_modules}" \
		-ldflags "-s -w -buildid= -X main.version=${version}" -o "$work/vigil" ./cmd/vigil
	cp README.md "$work/"
	touch -d "@$epoch" "$work"/*
	tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner --mode='u+rwX,go+rX,go-w' \
		-C "$work" -cf - . | gzip -9 -n >"$dist/$name.tar.gz"
done
rm -rf "$dist/.work"
(cd "$dist" && sha256sum -- *.tar.gz >SHA256SUMS)
cat "$dist/SHA256SUMS"
