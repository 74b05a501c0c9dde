#!/usr/bin/env bash
# install-deps.sh: installs what trustportal needs to build, run and test (Debian 12).
# Installs only what is missing; uses sudo when not root.
set -euo pipefail

PKGS=(
  # build
  build-essential meson ninja-build pkg-config protobuf-c-compiler
  # libraries
  libzmq3-dev libczmq-dev libprotobuf-c-dev liblmdb-dev libcurl4-openssl-dev
  libsodium-dev libmicrohttpd-dev libjansson-dev libcairo2-dev
  # the replicated log on NATS JetStream: its C client, and the server the cluster suite
  # starts three of on local ports (tests/cluster/)
  libnats-dev nats-server
  # tools used by the tests and benchmarks
  lmdb-utils qpdf poppler-utils python3 python3-aiosmtpd procps psmisc
  # the backbone benchmark's PostgreSQL peer: libpq to build it, the server it starts
  # on a temporary cluster of its own (tests/bench/peer_postgres.h)
  libpq-dev postgresql-15
  # the browser tests: Debian's Chromium (driven by playwright-core from npm) and fonts
  chromium fonts-dejavu-core fonts-liberation
)

# Node.js and npm for the browser-test driver, from Debian unless the machine has them
if ! command -v npm >/dev/null 2>&1; then
  PKGS+=(nodejs npm)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "installing: ${missing[*]}" >&2
# postgresql-15's postinst creates a "main" cluster (and starts it where services may
# start) unless postgresql-common's create_main_cluster is off. The benchmark makes and
# removes a cluster of its own, so none is created here: a server running after the
# install would only take memory and a port. A drop-in of our own in createcluster.d
# (read through createcluster.conf's include_dir; postgresql-common ships no file
# there), written only on a first install and never over one already there.
if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && [ ! -d /etc/postgresql/15 ] &&
   [ ! -e /etc/postgresql-common/createcluster.d/trustportal.conf ]; then
  $SUDO mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false   # trustportal's deploy/install-deps.sh" |
    $SUDO tee /etc/postgresql-common/createcluster.d/trustportal.conf >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# nats-server's package enables and starts a server of its own (Debian's
# /etc/nats-server.conf: 127.0.0.1:4222, without JetStream). The cluster suite starts
# servers of its own on free ports, and a cluster host needs a configuration of its own
# anyway: the default one is stopped and disabled, only when it was installed just now.
if [[ " ${missing[*]} " == *" nats-server "* ]] && command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now nats-server.service >/dev/null 2>&1 || true
fi
