# The kai image for charts/kai: a static binary (musl, rustls: no OpenSSL, no libc at run time)
# on a distroless base, as a non-root user. Not built in CI (no image registry here):
#   docker build -t ghcr.io/kai-dev/kai:0.1.0 .
FROM rust:1-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p kai --bin kai \
 && strip target/release/kai

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/target/release/kai /usr/local/bin/kai
# 65532 is distroless' nonroot user; the chart runs with a read-only root file system and
# gives kai an emptyDir at /var/lib/kai for its audit log (XDG_STATE_HOME).
USER 65532:65532
ENV XDG_STATE_HOME=/var/lib/kai
ENTRYPOINT ["/usr/local/bin/kai"]
CMD ["watch", "-A"]
