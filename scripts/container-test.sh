#!/usr/bin/env bash
# Container tooling for tests and local builds, without any registry:
#   engine-start DIR   start a private Docker engine (Debian's docker.io) with its state under DIR; prints DOCKER_HOST
#   engine-stop DIR    stop it and remove its state
#   base TAG           import a Debian bookworm root filesystem (mmdebstrap) plus this machine's Node as image TAG;
#                      the rootfs tarball is cached in .cache/container/ between runs
#   build TAG BASE     docker build the gateway image TAG from the Dockerfile with BASE_IMAGE=BASE
# Needs root (dockerd, mmdebstrap), and DOCKER_HOST for base/build.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=.cache/container

case "${1:-}" in
  engine-start)
    dir=${2:?engine dir}
    mkdir -p "$dir/data" "$dir/exec"
    sock="$dir/docker.sock"
    # vfs: no overlay support needed; no iptables or bridge: containers use --network=host or none.
    dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
      --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
      -H "unix://$sock" >"$dir/dockerd.log" 2>&1 &
    for _ in $(seq 1 100); do
      DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1 && { echo "unix://$sock"; exit 0; }
      sleep 0.3
    done
    echo "dockerd did not start; its log:" >&2; tail -n 20 "$dir/dockerd.log" >&2; exit 1
    ;;
  engine-stop)
    dir=${2:?engine dir}
    if [ -f "$dir/dockerd.pid" ]; then
      pid=$(cat "$dir/dockerd.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    # dockerd leaves its network namespace mount behind; vfs layers can be large; the engine is private to this run.
    real=$(realpath "$dir")
    awk -v d="$real/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
    rm -rf "$dir"
    ;;
  base)
    tag=${2:?tag}
    node_bin=$(command -v node)
    node_ver=$(node -p process.versions.node)
    tarball="$cache/bookworm-minbase.tar"
    mkdir -p "$cache"
    if [ ! -s "$tarball" ]; then
      # minbase plus what Node and the image need (libstdc++ for node, tini as init), without docs and locales
      # like the official slim images; merged /usr made by the hook rather than the usrmerge package (and its perl).
      mmdebstrap --quiet --format=tar --variant=minbase --include=libstdc++6,tini \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
        bookworm "$tarball.tmp" \
        && mv "$tarball.tmp" "$tarball"
    fi
    # Node and its npm laid out as in the official node image (/usr/local).
    npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
    stage=$(mktemp -d)
    trap 'rm -rf "$stage"' EXIT
    mkdir -p "$stage/usr/local/bin" "$stage/usr/local/lib/node_modules" "$stage/usr/local/share/ca-certificates"
    # This machine's trust store (it may reach the registries through a TLS-inspecting proxy), for npm in the build.
    cp /etc/ssl/certs/ca-certificates.crt "$stage/usr/local/share/ca-certificates/host-bundle.crt"
    cp "$node_bin" "$stage/usr/local/bin/node"
    cp -r "$npm_dir" "$stage/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$stage/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$stage/usr/local/bin/npx"
    docker import "$tarball" byova-debian-rootfs:bookworm >/dev/null
    printf '%s\n' 'FROM byova-debian-rootfs:bookworm' 'COPY usr/local/ /usr/local/' \
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "ENV NODE_VERSION=$node_ver" \
      'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/host-bundle.crt' \
      'CMD ["node"]' > "$stage/Dockerfile"
    docker build --quiet --network=none -t "$tag" "$stage" >/dev/null
    echo "$tag"
    ;;
  build)
    tag=${2:?tag}; base=${3:?base image}
    docker build --network=host --build-arg "BASE_IMAGE=$base" -t "$tag" .
    ;;
  *)
    sed -n '2,8p' "$0" >&2; exit 2
    ;;
esac
