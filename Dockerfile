# syntax=docker/dockerfile:1
#
# bwemu in a container, e.g. for `bwemu load` as a Kubernetes Indexed Job
# (deploy/kubernetes/load-job.yaml):
#
#   docker build -t bwemu .
#   docker build --build-arg VERSION=v1.2.3 -t bwemu:v1.2.3 .
#   docker run --rm bwemu version
#
# The binary is static (no cgo), so the final image is distroless: no
# shell, no package manager, running as the non-root user 65532.

FROM golang:1.26 AS build
WORKDIR /src
# The modules first, so that editing the source does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# VERSION, when given, is what `bwemu version` reports (-X main.version).
ARG VERSION=""
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/bwemu ./cmd/bwemu

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bwemu /bwemu
USER nonroot:nonroot
ENTRYPOINT ["/bwemu"]
