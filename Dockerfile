# A small static image of preflight (issue #16): CGO_ENABLED=0, nothing in
# it but the binary, the CA certificates the test send verifies servers
# with, and a /tmp for batch mode; it runs as a user without privileges.
#
#   docker build -t preflight --build-arg VERSION=v1.2.0 .
#   docker run --rm preflight version
#   docker run --rm -v "$PWD:/work" preflight check --config preflight.yaml
#
# cmd/container_test.go builds it and runs preflight version when docker or
# podman can (and says why it skips otherwise).
FROM docker.io/library/golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# VERSION, when given, is what preflight version prints (the module
# version go install would record).
ARG VERSION=
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w${VERSION:+ -X github.com/preflight-mail/preflight/cmd.version=$VERSION}" \
      -o /out/root/usr/local/bin/preflight . \
 && mkdir -p /out/root/etc/ssl/certs /out/root/work \
 && cp /etc/ssl/certs/ca-certificates.crt /out/root/etc/ssl/certs/ \
 && mkdir -m 1777 /out/root/tmp

# The tree above, as it is: a directory's mode (/tmp's 1777) survives
# only inside a directory copied whole.
FROM scratch
COPY --from=build /out/root/ /
# nobody's numbers: scratch has no /etc/passwd, and preflight needs none.
USER 65534:65534
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/preflight"]
CMD ["--help"]
