# Multi-stage build: compile in the Rust image, run as a non-root user in a slim image.
# Config and data are mounts: /config/config.toml (plus the key files it names) and /data.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# build.rs: the release link options (README "Release binary size").
COPY Cargo.toml Cargo.lock build.rs ./
# tungstenite / tokio-tungstenite 0.21 on rustls 0.23, named by Cargo.toml's [patch.crates-io].
COPY vendor ./vendor
COPY src ./src
# Built into the binary at compile time: the Fluent catalogues (static_loader!) and the
# PostgreSQL store's migrations (include_str!).
COPY locales ./locales
COPY migrations ./migrations
COPY benches ./benches
COPY testdata ./testdata
RUN cargo build --release --locked --bin budget-bot

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin budgetbot \
    && mkdir -p /config /data && chown budgetbot /data
COPY --from=build /src/target/release/budget-bot /usr/local/bin/budget-bot
USER budgetbot
WORKDIR /data
VOLUME ["/config", "/data"]
ENV BUDGET_BOT_CONFIG=/config/config.toml
# The image has no curl: `budget-bot healthcheck` asks the running bot's /healthz on the
# `[ops] listen` address of the same config (0.0.0.0 is reached as 127.0.0.1); the config
# needs an [ops] section, e.g. `listen = "0.0.0.0:9090"` to let Prometheus scrape /metrics.
EXPOSE 9090
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["budget-bot", "healthcheck"]
# DISCORD_TOKEN comes from the environment (e.g. `docker run --env-file`), never from the image.
ENTRYPOINT ["budget-bot"]
CMD ["run"]
