# The image every workflow pod runs: the fieldflow binary alone, built
# static with -tags pod (no `generate`, none of Argo's API types), on scratch
# with CA certificates for S3 over TLS, as a non-root user.
#
# `make image` builds the same image without Docker (generator/podimage;
# a test holds the two to each other). With Docker:
#   docker build -t fieldflow:0.1.0 .

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -tags pod -trimpath -ldflags "-s -w" -o /out/fieldflow ./cmd/fieldflow

FROM scratch
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="fieldflow" \
      org.opencontainers.image.description="Validates and processes irrigation data files; one run per Argo workflow step" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/fieldflow/fieldflow"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/fieldflow /usr/local/bin/fieldflow
ENV PATH=/usr/local/bin
# The UID the generated templates' securityContext runs as.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/fieldflow"]
