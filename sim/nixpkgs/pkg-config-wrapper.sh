#! @bash@
# The look-alike's pkg-config, shaped like nixpkgs' pkg-config-wrapper
# (pkgs/build-support/pkg-config-wrapper/pkg-config-wrapper.sh): when a build declares the host
# role (NIX_PKG_CONFIG_WRAPPER_TARGET_HOST_<salt>), PKG_CONFIG_PATH is what that role
# accumulated; otherwise PKG_CONFIG_PATH is used as it is.
set -eu -o pipefail +o posix
salt=@suffixSalt@
paths=()
v="NIX_PKG_CONFIG_WRAPPER_TARGET_BUILD_$salt"; if [ -n "${!v:-}" ]; then paths+=("${PKG_CONFIG_PATH_FOR_BUILD:-}"); fi
v="NIX_PKG_CONFIG_WRAPPER_TARGET_HOST_$salt"; if [ -n "${!v:-}" ]; then paths+=("${PKG_CONFIG_PATH:-}"); fi
v="NIX_PKG_CONFIG_WRAPPER_TARGET_TARGET_$salt"; if [ -n "${!v:-}" ]; then paths+=("${PKG_CONFIG_PATH_FOR_TARGET:-}"); fi
if [ "${#paths[@]}" -gt 0 ]; then
  joined=$(IFS=:; echo "${paths[*]}")
  PKG_CONFIG_PATH=$joined exec @pkgconf@/bin/pkgconf "$@"
fi
exec @pkgconf@/bin/pkgconf "$@"
