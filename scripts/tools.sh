#!/usr/bin/env bash
# Builds the pinned real servers listed in e2e/tools.versions into a per-user
# cache, keyed by name and version: $VIGIL_TOOLS_DIR/<name>-<version>/<name>.
# Idempotent: a binary that is already there is not rebuilt.
#
# Why copy the module: these main modules replace their own sub-modules with
# local folders that the module zip lacks, so `go install pkg@version` refuses
# them. Building a copy with those replaces dropped uses the published
# sub-module versions instead (see ../shared/notes/real-servers.md).
#
# usage: scripts/tools.sh [--print-dir] [name ...]
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
versions="$here/e2e/tools.versions"
tools_dir=${VIGIL_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil/tools}

if [ "${1:-}" = "--print-dir" ]; then echo "$tools_dir"; exit 0; fi

mkdir -p "$tools_dir"
want=("$@")
status=0

selected() {
  [ ${#want[@]} -eq 0 ] && return 0
  local w; for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}

build_one() {
  local name=$1 module=$2 version=$3; shift 3
  # Extra fields: `go mod edit` flags, tags=T (build tags; part of the
  # binary's folder name, as in the harness), overlay=DIR (files laid
  # over the module's at build time, by path: go build -overlay; DIR/a/b.go.in
  # replaces the module's a/b.go), copy=MODULE (a dependency copied, at the
  # version the build selects, into _deps/MODULE and used from there, so a
  # patch can change it: the go command refuses overlays of the module
  # cache) and patch=FILE (a unified diff applied with `patch -p1` in the
  # copy of the module, after the copies are made).
  local tags="" overlay="" edits=() copies=() patches=() f
  for f in "$@"; do
    case "$f" in
      tags=*) tags=${f#tags=} ;;
      overlay=*) overlay=$here/${f#overlay=} ;;
      copy=*) copies+=("${f#copy=}") ;;
      patch=*) patches+=("$here/${f#patch=}") ;;
      *) edits+=("$f") ;;
    esac
  done
  local dest="$tools_dir/$name-$version${tags:+-$tags}"
  local bin="$dest/$name"
  # The recipe: this line's fields and the patches' and overlay's contents.
  # A binary built from another recipe (a patch changed, say) is rebuilt,
  # though its folder name, which the harness looks up, is the same.
  local recipe
  recipe=$({ printf '%s\n' "$module" "$version" "$@"
             for f in "${patches[@]}"; do cat "$f"; done
             [ -z "$overlay" ] || (cd "$overlay" && find . -type f | LC_ALL=C sort |
                                    while IFS= read -r f; do echo "$f"; cat "$f"; done)
           } | sha256sum | cut -c1-16)
  if [ -x "$bin" ] && [ "$(cat "$dest/.recipe" 2>/dev/null)" = "$recipe" ]; then
    echo "tools: $name $version: present at $bin"
    return 0
  fi
  mkdir -p "$dest"
  # One builder per tool at a time; a second caller waits, then finds the binary.
  exec 9>"$dest/.lock"
  flock 9
  if [ -x "$bin" ] && [ "$(cat "$dest/.recipe" 2>/dev/null)" = "$recipe" ]; then
    echo "tools: $name $version: present at $bin"
    return 0
  fi
  [ ! -e "$bin" ] || echo "tools: $name $version: built from another recipe; rebuilding"

  local start=$SECONDS
  echo "tools: $name $version: fetching $module@$version from the module proxy"
  local info
  if ! info=$(GOFLAGS=-mod=mod go mod download -json "$module@$version" 2>&1); then
    echo "tools: $name: the module proxy does not serve $module@$version:" >&2
    echo "$info" | sed 's/^/tools:   /' >&2
    echo "tools: pick a version the proxy has and change it in $versions" >&2
    return 1
  fi
  local src
  src=$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ -z "$src" ] || [ ! -d "$src" ]; then
    echo "tools: $name: no source directory for $module@$version: $info" >&2
    return 1
  fi

  local work
  work=$(mktemp -d "$tools_dir/.build-$name-XXXXXX")
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  (
    cd "$work"
    # Drop every replace that points at a local folder.
    local r
    for r in $(awk '/^replace[[:space:]]*\(/{inblk=1;next} inblk&&/^\)/{inblk=0;next}
                    inblk&&/=>[[:space:]]*\.\.?\//{print $1}
                    /^replace [^(]/&&/=>[[:space:]]*\.\.?\//{print $2}' go.mod); do
      go mod edit -dropreplace="$r"
    done
    if [ ${#edits[@]} -gt 0 ]; then go mod edit "${edits[@]}"; fi
    local m d
    for m in "${copies[@]}"; do
      # Without a version, the one this module's build selects.
      d=$(GOFLAGS=-mod=mod go mod download -json "$m" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
      if [ -z "$d" ] || [ ! -d "$d" ]; then
        echo "tools: $name: no source directory for $m (copy=$m in $versions)" >&2
        exit 1
      fi
      mkdir -p "_deps/$m"
      cp -r "$d/." "_deps/$m/"
      chmod -R u+w "_deps/$m"
      go mod edit -replace="$m=./_deps/$m"
    done
    for f in "${patches[@]}"; do
      patch -p1 --quiet --forward < "$f"
    done
    local flags=()
    [ -n "$tags" ] && flags+=(-tags "$tags")
    if [ -n "$overlay" ]; then
      local json="{\"Replace\":{" sep="" rel
      # Overlay files end in .go.in, so they are no Go files of vigil's
      # own module; each replaces the module's file of the name without .in.
      while IFS= read -r rel; do
        json+="$sep\"$work/${rel%.in}\":\"$overlay/$rel\""
        sep=","
      done < <(cd "$overlay" && find . -type f -name '*.go.in' | sed 's|^\./||')
      printf '%s}}' "$json" > "$work/.overlay.json"
      flags+=(-overlay "$work/.overlay.json")
    fi
    echo "tools: $name $version${tags:+ (tags $tags)}: building (this takes minutes on a cold cache)"
    GOFLAGS=-mod=mod GOTOOLCHAIN=local go build "${flags[@]}" -ldflags='-s -w' -o "$bin.tmp" .
  ) || { rm -rf "$work"; echo "tools: $name $version: build failed" >&2; return 1; }
  mv "$bin.tmp" "$bin"
  printf '%s\n' "$recipe" > "$dest/.recipe"
  rm -rf "$work"
  echo "tools: $name $version: built in $((SECONDS - start))s -> $bin"
  "$here/scripts/phase.sh" note "$name" $((SECONDS - start)) 2>/dev/null || true
}

# Debian packages the e2e suite needs: headless Chromium drives the Consul
# UI check; docker.io's dockerd runs the docker-driver tests (the harness
# starts its own daemon); PostgreSQL, MariaDB and Redis are command backups'
# databases. They come from Debian's packages, not the Go
# proxy. usage: ensure_deb NAME COMMAND PACKAGE...
ensure_deb() {
  local name=$1 cmd=$2; shift 2
  if command -v "$cmd" >/dev/null 2>&1; then
    echo "tools: $name: present at $(command -v "$cmd")"
    return 0
  fi
  # A path pattern (a server outside PATH, such as PostgreSQL's initdb).
  if [[ $cmd == /* ]] && compgen -G "$cmd" >/dev/null; then
    echo "tools: $name: present at $(compgen -G "$cmd" | tail -1)"
    return 0
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "tools: $name: not installed and no apt-get; install Debian's $* by hand" >&2
    return 1
  fi
  local start=$SECONDS
  echo "tools: $name: installing Debian's $*"
  if $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null; then
    echo "tools: $name: installed in $((SECONDS - start))s"
    "$here/scripts/phase.sh" note "$name" $((SECONDS - start)) 2>/dev/null || true
  else
    echo "tools: $name: apt-get install $* failed" >&2
    return 1
  fi
}

# npm_one installs an npm package into the tools folder (Node is on the
# machine; the npm registry is reachable) and links its program as
# <name>-<version>/<name>, where the harness looks. usage: npm_one NAME PACKAGE VERSION BIN
npm_one() {
  local name=$1 pkg=$2 version=$3 binname=$4
  local dest="$tools_dir/$name-$version"
  if [ -x "$dest/$name" ]; then
    echo "tools: $name $version: present at $dest/$name"
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "tools: $name: npm is not installed (Debian's nodejs and npm)" >&2
    return 1
  fi
  local start=$SECONDS
  mkdir -p "$dest"
  echo "tools: $name $version: installing $pkg@$version from the npm registry"
  if ! npm install --prefix "$dest" --no-audit --no-fund --loglevel=error "$pkg@$version" >/dev/null; then
    echo "tools: $name $version: npm install failed" >&2
    return 1
  fi
  ln -sf "node_modules/.bin/$binname" "$dest/$name"
  echo "tools: $name $version: installed in $((SECONDS - start))s -> $dest/$name"
  "$here/scripts/phase.sh" note "$name" $((SECONDS - start)) 2>/dev/null || true
}

while read -r name module version extra; do
  case "$name" in ''|'#'*) continue ;; esac
  selected "$name" || continue
  case "$module" in
    npm:*) npm_one "$name" "${module#npm:}" "$version" "${extra:-$name}" || status=1 ;;
    # shellcheck disable=SC2086
    *) build_one "$name" "$module" "$version" $extra || status=1 ;;
  esac
done < "$versions"

if selected chromium; then
  ensure_deb chromium chromium chromium || status=1
fi
if selected docker; then
  ensure_deb docker dockerd docker.io || status=1
fi
# The databases command backups are tested on: the servers are run
# directly by the harness (no system service).
if selected postgresql; then
  ensure_deb postgresql '/usr/lib/postgresql/*/bin/initdb' postgresql || status=1
fi
if selected mariadb; then
  ensure_deb mariadb /usr/sbin/mariadbd mariadb-server mariadb-client || status=1
fi
if selected redis; then
  ensure_deb redis /usr/bin/redis-server redis-server redis-tools || status=1
fi

exit $status
