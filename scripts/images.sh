#!/usr/bin/env bash
# Build the hub and single-user images on the local engine; idempotent, quick when nothing changed.
# Made to need no registry:
#  - the Debian base image is made here with debootstrap (once), not pulled;
#  - Python wheels are downloaded on the host for the image's Python (a fresh container lacks
#    the host's CA bundle, so pip inside it may fail TLS) and installed from build/wheels.
# Needs: a running engine (scripts/engine.sh), the venv (make venv), root for apt-get and
# debootstrap, pip on the host.
set -euo pipefail
cd "$(dirname "$0")/.."

# The images' names: swarmspawner_deploy/images.py (environment overrides win).
eval "$("${PY:-.venv/bin/python}" -m swarmspawner_deploy.images)"
# Empty: debootstrap's default mirror. Set it to use a local mirror.
DEBIAN_MIRROR=${DEBIAN_MIRROR:-}
PIP=${PIP:-python3 -m pip}
wheels=build/wheels
# Debian's engine (20.10) has no buildx: use the classic builder, which also sees local images
# such as the imported base (a BuildKit container driver would try to pull it).
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}

log() { echo "images: $*"; }
start=$SECONDS

# --- Base image: a minimal Debian 12 root file system, imported -------------------------------
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    if ! command -v debootstrap >/dev/null 2>&1; then
        log "installing debootstrap"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >/dev/null
        apt-get install -y -q debootstrap >/dev/null
    fi
    rootfs=$(mktemp -d /var/tmp/swarmspawner-rootfs.XXXXXX)
    case $rootfs in /var/tmp/swarmspawner-rootfs.?*) ;; *) echo "images: bad rootfs dir '$rootfs'" >&2; exit 1 ;; esac
    chmod 755 "$rootfs"  # becomes the image's /
    trap 'rm -rf "$rootfs"' EXIT
    log "debootstrap bookworm into $rootfs (~40 s)"
    debootstrap --variant=minbase bookworm "$rootfs" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >"$rootfs.log" 2>&1 ||
        { tail -20 "$rootfs.log" >&2; rm -f "$rootfs.log"; exit 1; }
    rm -f "$rootfs.log"
    # Like debian:bookworm-slim: the updates and security suites too; no docs, man pages or
    # translations; apt deletes the .debs it installed; no package lists or caches shipped.
    # Keep the sources.list debootstrap wrote (the mirror it used); drop host-specific files.
    rm -f "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf"
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
    cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
    # What the excludes above keep out of later installs, taken out of the base too.
    find "$rootfs/usr/share/doc" -mindepth 2 -not -name copyright -not -type d -delete
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
        "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/log/*.log \
        "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
    log "importing $BASE_IMAGE"
    tar -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        - "$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
fi

# --- Wheels: the images' dependencies, downloaded again only when the requirements change ------
mkdir -p "$wheels"
# The project's own dependencies (with the deploy extra), from pyproject.toml: the hub image
# installs them before the project's wheel, which goes in last as its own small layer.
"${PY:-.venv/bin/python}" -c 'import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["deploy"]))' \
    >"$wheels/project-requirements.txt"
reqs=(docker/hub/requirements.txt "$wheels/project-requirements.txt" docker/singleuser/requirements.txt)
stamp=$(cat "${reqs[@]}" docker/constraints.txt docker/pip-target.env | sha256sum | cut -d' ' -f1)
if [ "$(cat "$wheels/.stamp" 2>/dev/null)" != "$stamp" ] || ! compgen -G "$wheels/*.whl" >/dev/null; then
    log "downloading wheels into $wheels"
    rm -f "$wheels"/*.whl "$wheels/.stamp"
    # Pure-Python dependencies published only as source (NativeAuthenticator's onetimepass):
    # built into wheels here, where the resolver below finds them.
    $PIP wheel --quiet --disable-pip-version-check --no-deps -w "$wheels" onetimepass \
        2> >(grep -v "^WARNING: Location 'file://.*' is ignored" >&2)
    # (The grep drops warnings about local index directories from this machine's pip config.)
    (set -a && . docker/pip-target.env && set +a &&
        $PIP download --quiet --disable-pip-version-check -d "$wheels" --find-links "$wheels" \
            -c docker/constraints.txt "${reqs[@]/#/-r}") \
        2> >(grep -v "^WARNING: Location 'file://.*' is ignored" >&2)
    echo "$stamp" >"$wheels/.stamp"
else
    log "wheels up to date ($(ls "$wheels"/*.whl | wc -l) in $wheels)"
fi

# The project's own wheel, every run: small and often changed; byte-identical for the same
# source, so the image layer stays cached when nothing changed.
log "building the project wheel"
"${PY:-.venv/bin/python}" scripts/wheel.py "$wheels/project" >/dev/null

# --- Images -----------------------------------------------------------------------------------
build() { # IMAGE DIR; shows the classic builder's steps and RUN output, without its chatter
    log "building $1 from $2"
    docker build --build-arg "BASE_IMAGE=$BASE_IMAGE" -f "$2/Dockerfile" -t "$1" . 2>&1 |
        sed -u -E -e 's/\x1b\[[0-9;]*m//g' \
            -e '/^ ---> |^Removing intermediate container|^$/d' \
            -e '/^DEPRECATED: The legacy builder|BuildKit is currently disabled|^ +environment-variable\.$/d' \
            -e '/Install the buildx component|docs\.docker\.com\/go\/buildx/d' \
            -e '/^debconf: delaying package configuration/d'
}
build "$HUB_IMAGE" docker/hub
build "$SINGLEUSER_IMAGE" docker/singleuser
build "$POSTGRES_IMAGE" docker/postgres

log "done in $((SECONDS - start)) s"
for image in "$BASE_IMAGE" "$HUB_IMAGE" "$SINGLEUSER_IMAGE" "$POSTGRES_IMAGE"; do
    read -r id size < <(docker image inspect --format '{{.Id}} {{.Size}}' "$image")
    echo "images: $image $id $((size / 1000000)) MB"
done
