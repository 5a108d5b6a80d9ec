# Charcoal: carbon-cache, whisper and graphite-web's render API in one binary.
#
#   docker build -t charcoal .
#   docker run -p 2003:2003 -p 2003:2003/udp -p 2004:2004 -p 7002:7002 -p 8080:8080 \
#       -v charcoal-data:/var/lib/charcoal charcoal
#
# With a carbon.conf (and storage-schemas.conf / storage-aggregation.conf beside it) mounted
# at /etc/carbon, it is used as carbon-cache would use it (its STORAGE_DIR must be on a
# volume); without one, the embedded defaults keep data under /var/lib/charcoal. Extra
# arguments go to `charcoal serve` (see `docker run charcoal serve --help`).

# Build stage: the release binaries, dependencies cached between builds.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p charcoal -p charcoal-tools \
    && mkdir -p /out \
    && cp target/release/charcoal target/release/whisper-* /out/

# Runtime stage: Debian slim (glibc, tzdata for tz=), no compiler, a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/charcoal --shell /usr/sbin/nologin charcoal \
    && mkdir -p /var/lib/charcoal /etc/carbon \
    && chown charcoal:charcoal /var/lib/charcoal
COPY --from=build /out/ /usr/local/bin/
COPY docker/entrypoint.sh /usr/local/bin/charcoal-entrypoint
USER charcoal
WORKDIR /var/lib/charcoal
VOLUME ["/var/lib/charcoal", "/etc/carbon"]
# plaintext (TCP and UDP), pickle, carbonlink, HTTP API
EXPOSE 2003/tcp 2003/udp 2004/tcp 7002/tcp 8080/tcp
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD ["charcoal", "health", "--http", "127.0.0.1:8080"]
# SIGTERM (docker stop) flushes the cache to disk before exit: give it time.
STOPSIGNAL SIGTERM
ENTRYPOINT ["charcoal-entrypoint"]
CMD ["serve"]
