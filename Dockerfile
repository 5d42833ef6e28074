# buildgate's container image: the GitHub Docker container action (action.yml) and the image the
# GitLab CI template runs. A static musl binary on a small Alpine base that keeps /bin/sh (GitLab
# runs `script:` lines through it) and the CA certificates rustls verifies the API against.
#
# Plain `docker build .` works, with or without BuildKit: no cache mounts, no heredocs.

# ---- build: a static release binary --------------------------------------------------------
# The Rust toolchain is pinned to the one the project is developed and tested with.
FROM rust:1.95.0-alpine3.23 AS build

# The image already has gcc and musl-dev. aws-lc-sys (rustls' crypto provider) needs nothing
# more on x86_64/aarch64 musl: it ships pregenerated bindings there and compiles its C with the
# cc crate, so no cmake, perl, Go, NASM or clang. musl-dev is named to keep that true if the
# base image ever drops it. Not version-pinned (DL3018): Alpine removes superseded package
# versions from its mirrors, so a pin breaks later builds; the exact base image tag is the pin.
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev gcc

# busybox ash knows pipefail: a failing command inside a pipe fails the RUN.
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
WORKDIR /build

# Dependency cache layer: only the manifests and the lock file, with stub sources, so the
# dependencies are rebuilt only when those change. fake-api is a workspace member (a
# dev-dependency only): its manifest and a stub lib are all the workspace needs to resolve.
# Targets a manifest declares explicitly ([[bench]] with `harness = false`, [[example]], ...)
# get a stub too, since cargo refuses a manifest whose declared target file is missing.
COPY Cargo.toml Cargo.lock ./
COPY fake-api/Cargo.toml fake-api/
RUN set -eu; \
    mkdir -p src fake-api/src; \
    echo 'fn main() {}' > src/main.rs; \
    : > src/lib.rs; \
    : > fake-api/src/lib.rs; \
    for dir in . fake-api; do \
        awk -v q='"' ' \
            function flush() { \
                if (kind != "" && name != "") { \
                    if (path == "") path = (kind == "bin" ? "src/bin" : kind == "example" ? "examples" : kind == "bench" ? "benches" : "tests") "/" name ".rs"; \
                    print path; \
                } \
                kind = ""; name = ""; path = ""; \
            }; \
            /^[[:space:]]*\[/ { flush() }; \
            /^[[:space:]]*\[\[(bin|example|bench|test)\]\]/ { kind = $0; sub(/#.*/, "", kind); gsub(/[^a-z]/, "", kind) }; \
            kind != "" && /^[[:space:]]*name[[:space:]]*=/ { split($0, v, q); name = v[2] }; \
            kind != "" && /^[[:space:]]*path[[:space:]]*=/ { split($0, v, q); path = v[2] }; \
            END { flush() } \
        ' "$dir/Cargo.toml" | while read -r target; do \
            mkdir -p "$dir/$(dirname "$target")"; \
            echo 'fn main() {}' > "$dir/$target"; \
        done; \
    done; \
    cargo build --release --locked

# The real sources (the .dockerignore lets in only what the release build reads). Touching them
# makes cargo rebuild buildgate itself: COPY keeps the files' mtimes, which can be older than the
# stub build.
COPY . .
RUN set -eu; \
    find src -type f -exec touch {} +; \
    cargo build --release --locked; \
    case "$(readelf -l target/release/buildgate)" in \
        *'program interpreter'*) echo 'target/release/buildgate is not statically linked' >&2; exit 1 ;; \
    esac

# ---- binary: the executable alone, for the release assets ----------------------------------
#   docker buildx build --target binary --platform linux/amd64,linux/arm64 --output type=local,dest=dist .
# gives dist/linux_amd64/buildgate and dist/linux_arm64/buildgate, the very binaries of the image.
FROM scratch AS binary
COPY --from=build /build/target/release/buildgate /buildgate

# ---- runtime (the default target: keep it last) --------------------------------------------
FROM alpine:3.24.1

# ca-certificates: the roots rustls trusts (read from /etc/ssl/certs), and update-ca-certificates
# for users who add a corporate CA in a derived image. Alpine drops old package versions from
# its mirrors, so pinning one would break the build later: the base image tag is the pin.
# hadolint ignore=DL3018
RUN apk add --no-cache ca-certificates

COPY --from=build /build/target/release/buildgate /usr/local/bin/buildgate

# No USER and no WORKDIR on purpose: GitHub runs Docker container actions as root (it mounts the
# workspace and the file-command files owned by the runner user) and sets the working directory
# itself (/github/workspace); its docs ask Dockerfiles for actions to set neither.
ENTRYPOINT ["/usr/local/bin/buildgate"]
