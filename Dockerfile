# syntax=docker/dockerfile:1
#
# bill-mcp in a small non-root image (distroless/static, uid 65532).
#
#   docker build -t bill-mcp .
#   docker run -i --rm bill-mcp serve --emulator            # stdio on the embedded emulator
#   docker run -i --rm -v bill-mcp-vault:/vault \
#     -v "$PWD/passphrase.txt:/run/secrets/bill_mcp_vault_passphrase:ro" \
#     -e BILL_MCP_VAULT_PASSPHRASE_FILE=/run/secrets/bill_mcp_vault_passphrase \
#     bill-mcp serve --profile acme                          # stdio against BILL
#   docker run --rm -p 127.0.0.1:8808:8808 bill-mcp \
#     serve --emulator --transport http --addr 0.0.0.0:8808  # streamable HTTP at /mcp
#
# In a container the server has to bind 0.0.0.0 for a published port to reach
# it, so publish the port on the host's loopback only (-p 127.0.0.1:...).
# HTTP and SSE always require the bearer token. See README.md, "Docker".

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so a source edit does not refetch them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# --build-arg VERSION=1.2.3 stamps a release's version (the image is then
# tagged ghcr.io/bill-mcp/bill-mcp:1.2.3, as server.json says); without it
# the binary keeps the version in cmd/bill-mcp/version.go.
ARG VERSION=
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w ${VERSION:+-X main.version=$VERSION}" \
    -o /out/bill-mcp ./cmd/bill-mcp
# The vault directory, owned by the runtime user with mode 0700, so that a
# named volume mounted on it starts with the right owner and permissions.
RUN install -d -m 0700 -o 65532 -g 65532 /out/vault

FROM gcr.io/distroless/static-debian12:nonroot
# The MCP Registry checks that this image belongs to the server.json name.
LABEL io.modelcontextprotocol.server.name="io.github.bill-mcp/bill-mcp"
COPY --from=build /out/bill-mcp /usr/local/bin/bill-mcp
COPY --from=build --chown=65532:65532 /out/vault /vault
# The vault lives on a volume. Its passphrase comes from a secret file named
# by BILL_MCP_VAULT_PASSPHRASE_FILE at run time: never baked into the image,
# never a flag.
ENV BILL_MCP_VAULT_DIR=/vault
USER 65532:65532
EXPOSE 8808
ENTRYPOINT ["bill-mcp"]
CMD ["serve"]
