#!/bin/sh
# Cross-builds kinesisd's release binaries: static (CGO_ENABLED=0, no C compiler needed), -trimpath,
# stripped, stamped with the version and commit, into dist/ with a SHA256SUMS file.
#
#   scripts/release.sh                      # every target below, into dist/
#   TARGETS="linux/amd64" DIST=/tmp/out scripts/release.sh
#
# VERSION is the tag on HEAD (git describe --tags --exact-match), else v0.0.0-<12-digit commit>;
# COMMIT is the 12-digit commit, "-dirty" when tracked files differ from it. Both can be given in
# the environment (a build from a tarball without .git). Binaries are named
# kinesisd-<version>-<os>-<arch>[.exe]; `kinesisd version` prints "kinesisd <version> (<commit>)".
# Each target also gets kinesisd-iceberg-<version>-<os>-<arch>[.exe], the companion executable that
# writes channels to S3 Tables, which kinesisd finds next to itself under that name.
set -eu

cd "$(dirname "$0")/.."
GO=${GO:-go}
DIST=${DIST:-dist}
TARGETS=${TARGETS:-"linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64"}

if [ -z "${COMMIT:-}" ]; then
	COMMIT=$(git rev-parse --short=12 HEAD)
	if ! git diff --quiet HEAD --; then
		COMMIT="$COMMIT-dirty"
		echo "release: warning: tracked files differ from $COMMIT; the binaries say so" >&2
	fi
fi
if [ -z "${VERSION:-}" ]; then
	VERSION=$(git describe --tags --exact-match 2>/dev/null || echo "v0.0.0-${COMMIT%-dirty}")
fi

mkdir -p "$DIST"
rm -f "$DIST"/kinesisd-"$VERSION"-* "$DIST"/kinesisd-iceberg-"$VERSION"-* "$DIST"/SHA256SUMS
ldflags="-s -w -X kinesisd/internal/version.version=$VERSION -X kinesisd/internal/version.commit=$COMMIT"
for target in $TARGETS; do
	goos=${target%/*}
	goarch=${target#*/}
	for command in kinesisd kinesisd-iceberg; do
		out="$DIST/$command-$VERSION-$goos-$goarch"
		[ "$goos" = windows ] && out="$out.exe"
		echo "release: $out" >&2
		# -buildvcs=false: the version is stamped above; the build then needs no git and is reproducible.
		CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch "$GO" build -trimpath -buildvcs=false -ldflags "$ldflags" \
			-o "$out" ./cmd/$command
	done
done

cd "$DIST"
if command -v sha256sum >/dev/null 2>&1; then
	sha256sum kinesisd-"$VERSION"-* kinesisd-iceberg-"$VERSION"-* >SHA256SUMS
else
	shasum -a 256 kinesisd-"$VERSION"-* kinesisd-iceberg-"$VERSION"-* >SHA256SUMS # macOS
fi
ls -l kinesisd-"$VERSION"-* kinesisd-iceberg-"$VERSION"-* SHA256SUMS >&2
