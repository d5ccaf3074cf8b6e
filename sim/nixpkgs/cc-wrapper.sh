#! @bash@
# The look-alike's stdenv.cc: a wrapper shaped like nixpkgs' cc-wrapper
# (pkgs/build-support/cc-wrapper/cc-wrapper.sh and add-flags.sh, with accumulateRoles and
# mangleVarList from pkgs/build-support/wrapper-common/utils.bash). It finds its own libc
# headers and crt files, links against the store glibc with its loader as the ELF interpreter,
# and reads the variables a nixpkgs build sets: NIX_CFLAGS_COMPILE and NIX_LDFLAGS (when
# NIX_CC_WRAPPER_TARGET_HOST_<salt> / NIX_BINTOOLS_WRAPPER_TARGET_HOST_<salt> say this call
# serves the host role, or suffixed with _<salt>), and NIX_DONT_SET_RPATH. Simplified: the
# rpath is added for every store -L directory (nixpkgs' ld-wrapper adds it only for the
# directories a -l library was found in), and there is no hardening or purity filter.
set -eu -o pipefail +o posix
salt=@suffixSalt@

roles() {  # accumulateRoles for wrapper $1
  local v
  role_suffixes=()
  v="NIX_$1_TARGET_BUILD_$salt"; if [ -n "${!v:-}" ]; then role_suffixes+=("_FOR_BUILD"); fi
  v="NIX_$1_TARGET_HOST_$salt"; if [ -n "${!v:-}" ]; then role_suffixes+=(""); fi
  v="NIX_$1_TARGET_TARGET_$salt"; if [ -n "${!v:-}" ]; then role_suffixes+=("_FOR_TARGET"); fi
}
gather() {  # mangleVarList: the variable's own _<salt> value, then each role's
  local var=$1 s input value
  input="${var}_$salt"
  value="${!input:-}"
  for s in "${role_suffixes[@]+"${role_suffixes[@]}"}"; do
    input="$var$s"
    if [ -n "${!input:-}" ]; then value+=" ${!input}"; fi
  done
  echo "$value"
}

linking=1
for p in "$@"; do
  case "$p" in
    -c|-S|-E|-M|-MM) linking=0 ;;
  esac
done
[ "@prog@" = cpp ] && linking=0

roles CC_WRAPPER
read -r -a cflags <<< "$(gather NIX_CFLAGS_COMPILE)"
read -r -a cflags_link <<< "$(gather NIX_CFLAGS_LINK)"
roles BINTOOLS_WRAPPER
read -r -a ldflags <<< "$(gather NIX_LDFLAGS)"

# libc-cflags and cc-cflags of nixpkgs' cc-wrapper: -B for ld/as and the crt files.
before=(-B@out@/bin/ -B@libcdev@/lib/)
after=(-idirafter @libcdev@/include "${cflags[@]+"${cflags[@]}"}")
if [ "$linking" = 1 ]; then
  # cc-ldflags: the C++ runtime (stdenv.cc.cc.lib) is found and, like glibc, on the rpath.
  after+=("${cflags_link[@]+"${cflags_link[@]}"}" -L@libcdev@/lib -L@glibc@/lib -L@gcclib@/lib
          "-Wl,-dynamic-linker=@glibc@/lib/ld-linux-x86-64.so.2")
  dirs=()
  for p in "$@" "${ldflags[@]+"${ldflags[@]}"}"; do
    case "$p" in -L/nix/store/*) dirs+=("${p#-L}") ;; esac
  done
  for p in "${ldflags[@]+"${ldflags[@]}"}"; do
    case "$p" in -L/*) after+=("$p") ;; *) after+=("-Wl,$p") ;; esac
  done
  if [ "${NIX_DONT_SET_RPATH:-}" != 1 ]; then
    for d in "${dirs[@]+"${dirs[@]}"}" @glibc@/lib @gcclib@/lib; do after+=("-Wl,-rpath,$d"); done
  fi
fi
exec @gcc@/bin/@prog@ "${before[@]}" "$@" "${after[@]}"
