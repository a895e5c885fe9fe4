#!/usr/bin/env bash
# version.sh: the version a build carries. From a release tag: 0.2.0, or
# 0.2.0-3-gdd88f87 for commits after it. Without one: 0.1.0-dev+dd88f87.
# "-dirty" marks a tree with changes not committed.
if v=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then
	echo "${v#v}"
	exit 0
fi
hash=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git diff --quiet HEAD 2>/dev/null || echo "-dirty")
echo "0.1.0-dev+${hash}${dirty}"
