# The vigil image: the static binary, the CA certificates and a non-root
# user on an empty base, so nothing in it needs patching but vigil itself.
# `make image` fills the build context (dist/image/) and builds it offline:
# FROM scratch needs no registry.
FROM scratch
COPY vigil /usr/local/bin/vigil
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY passwd group /etc/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/vigil"]
