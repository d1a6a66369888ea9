# The BYOVA gateway's container image. README, "Container".
#   docker build -t byova-gateway .
#   docker run -p 50051:50051 -v "$PWD/config.yaml:/etc/byova/config/config.yaml:ro" byova-gateway
# BASE_IMAGE: any Debian-based image with Node 20 in /usr/local (the official one by default).
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
# onnxruntime-node's install script only downloads GPU providers; its CPU binaries are in the package.
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
# One COPY (.dockerignore keeps it to the sources) and one RUN: few layers keep copy-based storage drivers fast.
COPY . .
# Dev dependencies included: buf (codegen, run by postinstall), the Nest CLI and TypeScript. After the build the
# production dependencies are kept, and of onnxruntime-node's binaries for every platform (288 MB) only linux-x64.
# Also dropped: typescript (@nestjs/swagger needs it only for its compiler plugin), source maps, type declarations and
# markdown. /out holds the runtime's files laid out as they go in the image, copied over in one layer.
RUN npm ci \
 && { test -f libs/proto/src/gen/descriptor-set.ts || npm run generate; } \
 && npm run build \
 && npm prune --omit=dev \
 && ort=node_modules/onnxruntime-node/bin/napi-v6 \
 && find "$ort" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + \
 && find "$ort/linux" -mindepth 1 -maxdepth 1 ! -name x64 -exec rm -rf {} + \
 && test -f "$ort/linux/x64/onnxruntime_binding.node" \
 && rm -rf node_modules/typescript \
 && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -iname '*.md' \) -delete \
 && npm cache clean --force \
 && mkdir -p /out/app/scripts /out/etc/byova/config /out/var/lib/byova/recordings \
 && cp -r package.json node_modules dist audio /out/app/ \
 && cp scripts/healthcheck.js /out/app/scripts/ \
 && cp config/config.yaml /out/etc/byova/config/config.yaml \
 && chown 10001:10001 /out/var/lib/byova/recordings

FROM ${BASE_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="byova-gateway" \
      org.opencontainers.image.description="Webex Contact Center BYOVA gateway: BYOVA gRPC server driving pluggable virtual-agent connectors" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="UNLICENSED"
# tini (Debian's) as PID 1: forwards SIGTERM/SIGINT to node and reaps zombies. The local test base has it already.
RUN if ! command -v tini >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*; \
    fi \
 && groupadd --system --gid 10001 byova \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin byova
# package.json, production node_modules, dist, the shipped prompts in audio/ (the local_audio connector's
# audio_base_path "audio" is relative to this working directory), the health check, and a default configuration
# at /etc/byova/config/config.yaml: mount your own over /etc/byova/config (read-only is fine).
COPY --from=build /out/ /
WORKDIR /app
ENV NODE_ENV=production \
    GATEWAY_CONFIG=/etc/byova/config/config.yaml \
    PORT=50051
# Writable at run time (the root filesystem may be read-only): /tmp and the recordings folder.
VOLUME ["/tmp", "/var/lib/byova/recordings"]
USER 10001:10001
EXPOSE 50051 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "scripts/healthcheck.js"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/apps/gateway/src/main.js"]
