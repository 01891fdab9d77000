#!/usr/bin/env bash
# Brings a fresh Debian/Ubuntu machine with Node 20 to the point where
# `npx quorumchat up` and `npm test` work: the NATS server from apt (the only
# system service quorumchat needs), Chromium for the web inspector's browser
# test, iproute2 and nftables for the partition tests across network-namespace
# hosts (test/hosts/), openssl for the route TLS test, the npm dependencies (sqlite3 builds from source,
# about 2 minutes), and the compiled build in dist/ that replicas run (a
# replica then starts in about half the time and holds ~40% less memory than
# through tsx; a source edited later runs through tsx until the next
# `npm run build`).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
if [ "${QUORUMCHAT_SKIP_BROWSER:-}" != 1 ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
fi
command -v tmux >/dev/null 2>&1 || need+=(tmux)
# Looked up in the system directories: under npx, `nft` on PATH can be @vercel/nft.
[ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || [ -x /usr/bin/ip ] || need+=(iproute2)
[ -x /usr/sbin/nft ] || [ -x /sbin/nft ] || [ -x /usr/bin/nft ] || need+=(nftables)
# The route TLS test makes a throwaway certificate authority with it.
command -v openssl >/dev/null 2>&1 || need+=(openssl)

if [ ${#need[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "quorumchat setup: please install ${need[*]} (apt is not available here)" >&2
    exit 1
  fi
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "quorumchat setup: installing ${need[*]} with apt-get"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
node cli/build/build.mjs
echo "quorumchat setup: ready"
