# The nixpkgs a spec names (`s.nixpkgs`, JSON data), imported the same way by every
# evaluation uvx-nix runs (resolve.nix, build.nix): a flake's legacyPackages, `<nixpkgs>`, a
# channel pinned by revision, or a directory pinned by its NAR hash. Nothing of the user's own
# nixpkgs config or overlays. Also what resolve.nix reports about the source.
s:
let
  inherit (builtins) getFlake head match tryEval;
  system = s.system;
  unsafe = builtins.unsafeDiscardStringContext;
  flake = if s.nixpkgs.type == "flake" then getFlake s.nixpkgs.ref else null;
  # Nothing of the user's own nixpkgs config or overlays: the same spec gives the same store
  # paths whoever evaluates it. A flake's legacyPackages takes no config; for it the caller
  # passes allowUnfree as NIXPKGS_ALLOW_UNFREE=1 and hides the user's overlays (see nix.py).
  importArgs = {
    inherit system;
    config = { allowUnfree = s.allowUnfree or false; };
    overlays = [ ];
  };
  pkgs =
    if flake != null then
      (if flake ? legacyPackages && flake.legacyPackages ? ${system}
       then flake.legacyPackages.${system}
       else import flake.outPath importArgs)
    else if s.nixpkgs.type == "channel" then import channel importArgs
    else if s.nixpkgs.type == "revision" then import revisionTree importArgs
    else import directorySource importArgs;

  # `<nixpkgs>`, and the revision a NixOS channel records in .git-revision
  # (nixos/lib/make-channel.nix writes `nixpkgs.rev` there; lib.trivial.revisionWithDefault
  # reads it). Null when the file is absent or holds no full revision.
  channel = builtins.findFile builtins.nixPath "nixpkgs";
  revisionOf = dir:
    let
      file = "${toString dir}/.git-revision";
      text = if builtins.pathExists file then builtins.readFile file else "";
      m = match "[[:space:]]*([0-9a-f]{40})[[:space:]]*" text;
    in if m == null then null else head m;
  # A channel locked by its revision: the user's own `<nixpkgs>` while it is at that revision
  # (no network), else that revision fetched from GitHub; never another revision.
  revisionTree =
    let
      found = tryEval channel;
      here = if found.success && revisionOf found.value == s.nixpkgs.rev then found.value else null;
    in if here != null then here
       else builtins.fetchTarball "https://github.com/NixOS/nixpkgs/archive/${s.nixpkgs.rev}.tar.gz";
  # A directory, copied (without VCS metadata) to the store as "source" for its NAR hash. With
  # the narHash the lock records, exactly that tree: the directory itself while it still hashes
  # the same (evaluated where it is, so its relative imports and error positions are the
  # user's), else the store copy of the locked tree; without either, Nix's one line "store
  # path mismatch" (the directory differs) or that the path does not exist.
  noVcs = path: type: !(builtins.elem (baseNameOf path) [ ".git" ".hg" ".svn" ]);
  copyOf = extra: builtins.path ({ path = s.nixpkgs.path; name = "source"; filter = noVcs; }
    // extra);
  directory = copyOf (if s.nixpkgs ? narHash then { sha256 = s.nixpkgs.narHash; } else { });
  inPlace = !(s.nixpkgs ? narHash) || (builtins.pathExists s.nixpkgs.path
    && unsafe "${copyOf { }}" == unsafe "${directory}");
  directorySource = if inPlace then /. + s.nixpkgs.path else directory;
in
{ inherit pkgs flake channel revisionOf directory; }
