# kinesisd's container image: a static binary on scratch (with kinesisd-iceberg, its S3 Tables writer,
# beside it), run as 65532:65532, serving on 0.0.0.0:4567 with its data in the /data volume.
#
#   docker build -t kinesisd .                      # from the source, on the official Go image
#   docker build -t kinesisd --build-arg VERSION=$(git describe --tags --always) \
#       --build-arg COMMIT=$(git rev-parse --short=12 HEAD) .
#   docker run -p 4567:4567 -v kinesisd-data:/data kinesisd
#
# Without pulling any image, from a linux binary built first (scripts/release.sh):
#
#   rm -rf dist/image && TARGETS=linux/amd64 DIST=dist/image scripts/release.sh
#   podman build --target image-from-binary -t kinesisd .
#
# The image has no shell and no curl: its health check is `kinesisd health` (GET /health).

ARG GO_VERSION=1.26

# The build runs on the builder's own platform and cross-compiles to the target's (no emulation).
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
ARG COMMIT=unknown
# The release build (static, no C compiler, trimmed, stripped, stamped), for the target platform.
RUN TARGETS=$TARGETOS/$TARGETARCH DIST=/out VERSION=$VERSION COMMIT=$COMMIT scripts/release.sh \
    && mv /out/kinesisd-$VERSION-$TARGETOS-$TARGETARCH /out/kinesisd \
    && mv /out/kinesisd-iceberg-$VERSION-$TARGETOS-$TARGETARCH /out/kinesisd-iceberg

# What both final stages share: the user, the data directory, the port, the configuration.
FROM scratch AS runtime
COPY contrib/image/passwd contrib/image/group /etc/
# An empty directory of the build context (.dockerignore drops its README), so that /data exists and
# belongs to the user without a shell in the image.
COPY --chown=65532:65532 contrib/image/data /data
USER 65532:65532
# The console is on although the port is not loopback (with a WARN at start without -credentials):
# users of the image reach it through a published port (docker-compose.yml publishes it on loopback).
ENV KINESISD_LISTEN=0.0.0.0:4567 \
    KINESISD_DATA=/data \
    KINESISD_CONSOLE=true
EXPOSE 4567
VOLUME /data
WORKDIR /data
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/kinesisd", "health"]
ENTRYPOINT ["/kinesisd"]

# The image from prebuilt static linux binaries in the build context; needs no image pulled. kinesisd
# runs /kinesisd-iceberg, next to it, for channels to S3 Tables. BINARY's pattern wants release.sh's
# versions (v…), so that it does not also match the kinesisd-iceberg-… file.
FROM runtime AS image-from-binary
ARG TARGETARCH=amd64
ARG BINARY=dist/image/kinesisd-v*-linux-${TARGETARCH}
ARG ICEBERG_BINARY=dist/image/kinesisd-iceberg-*-linux-${TARGETARCH}
COPY ${BINARY} /kinesisd
COPY ${ICEBERG_BINARY} /kinesisd-iceberg

# The default: the image built from source.
FROM runtime AS image
COPY --from=build /out/kinesisd /out/kinesisd-iceberg /
