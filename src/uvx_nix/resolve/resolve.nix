# uvx-nix's one Nix evaluation: pick the interpreter and the libraries from ONE
# nixpkgs, build them, and describe them in a manifest inside a builtin:buildenv
# output (so `nix build --json --out-link` evaluates, builds, GC-roots and
# reports in a single process).
#
# Everything the user or the project supplies arrives as JSON data in `spec`
# (`--argstr spec ...`); nothing is ever spliced into Nix source text.
{ spec }:
let
  inherit (builtins)
    all attrNames concatLists elemAt filter foldl' fromJSON genList getFlake head isAttrs
    isList length map match parseDrvName sort toFile toJSON tryEval deepSeq;

  s = fromJSON spec;
  system = s.system;

  inherit (import ./nixpkgs.nix s) pkgs flake channel revisionOf directory;

  inherit (import ./versions.nix) cmpList clauseOk toInt;

  interps = pkgs.pythonInterpreters or { };
  # The interpreters are named by pythonInterpreters; each is read through its top-level
  # attribute (`pkgs.python312`, which a flake's own overlays may change, unlike
  # `pythonInterpreters.python312`). The free-threaded builds are top-level only
  # (`python313FreeThreading = python313.override { enableGIL = false; }`).
  baseNames = filter (n: match "(python|pypy)[0-9]+" n != null) (attrNames interps);
  freeThreadedNames = filter (n: pkgs ? ${n}) (map (n: "${n}FreeThreading") baseNames);
  candidateNames = baseNames ++ freeThreadedNames;
  interpreter = n: if pkgs ? ${n} then pkgs.${n} else interps.${n};
  describe = n:
    let
      p = interpreter n;
      sv = p.sourceVersion or { };
      impl = p.implementation or (if match "pypy.*" n != null then "pypy" else "cpython");
      release =
        if impl == "cpython" && sv ? major
        then [ (toInt sv.major) (toInt sv.minor) (toInt (sv.patch or "0")) ]
        else map toInt (builtins.splitVersion p.pythonVersion);
      info = {
        attribute = n;
        implementation = impl;
        version = p.version;
        pythonVersion = p.pythonVersion;
        inherit release;
        prerelease = (sv.suffix or "") != "";
        freeThreaded = match ".*FreeThreading" n != null;
      };
      r = tryEval (deepSeq info info);
    in if r.success then [ r.value ] else [ ];
  candidates = concatLists (map describe candidateNames);

  req = s.python;
  wanted = c:
    (if req.implementation == null then c.implementation == "cpython"
     else c.implementation == req.implementation)
    && c.freeThreaded == req.freeThreaded
    && all (cl: clauseOk cl c.release) req.clauses;
  # As PEP 440 does: a pre-release interpreter (nixpkgs' python3XX in alpha/beta) is chosen
  # only when no final release matches the request.
  matching = filter wanted candidates;
  finals = filter (c: !c.prerelease) matching;
  newestFirst = sort (a: b: cmpList a.release b.release > 0)
    (if finals != [ ] then finals else matching);

  # uv walks its search path in order and takes the first interpreter that satisfies the
  # request: with nixpkgs' default `python3` first (as `python3` and `python` lead a NixOS
  # profile), that is python3 when it matches, else the newest match.
  defaultVersion =
    let r = tryEval (pkgs.python3.version or null); in if r.success then r.value else null;
  defaultMatch = filter (c: c.implementation == "cpython" && !c.freeThreaded
    && c.version == defaultVersion) matching;
  chosenAttr =
    if req.mode == "default" then "python3"
    else if req.mode == "attribute" then req.attribute
    else if req.mode == "match" && defaultMatch != [ ] then (head defaultMatch).attribute
    else if req.mode == "match" && newestFirst != [ ] then (head newestFirst).attribute
    else null;
  python =
    if chosenAttr == null then null
    else if pkgs ? ${chosenAttr} then pkgs.${chosenAttr}
    else interps.${chosenAttr} or null;
  pythonInfo = if python == null then null else {
    attribute = chosenAttr;
    out = unsafe "${python}";
    version = python.version;
    pythonVersion = python.pythonVersion;
    implementation = python.implementation or "cpython";
    executable = python.executable;
    interpreter = unsafe python.interpreter;
    sitePackages = python.sitePackages or "lib/python${python.pythonVersion}/site-packages";
  };

  unsafe = builtins.unsafeDiscardStringContext;
  byPath = path: foldl' (acc: k: if acc != null && isAttrs acc && acc ? ${k} then acc.${k} else null) pkgs path;
  getLib = p:
    if p ? outputSpecified && p.outputSpecified then p else p.lib or p.out or p;
  isGlibc = p: (p.pname or (parseDrvName (p.name or "")).name) == "glibc";
  isDrv = p: isAttrs p && (p.type or "") == "derivation";
  # A library is asked for by the name the user configured and the names it had or has in
  # other nixpkgs releases (current first; e.g. libx11, then xorg.libX11, deprecated in
  # 2026-01 with a warning on every use). The first that exists is taken; existence is
  # tested with `?` only, so a deprecated name that is not taken is never evaluated (and
  # never warns, which abort-on-warn would turn into an error).
  exists = path:
    let parent = byPath (lib'.init path); in
    parent != null && isAttrs parent && parent ? ${lib'.last path};
  lib' = {
    init = l: genList (i: elemAt l i) (length l - 1);
    last = l: elemAt l (length l - 1);
  };
  lookup = entry:
    let
      found = filter exists entry.paths;
      path = if found != [ ] then head found else head entry.paths;
      v = byPath path;
      items = if isList v then v else [ v ];
      name = entry.name;
    in {
      inherit name;
      chosen = builtins.concatStringsSep "." path;  # which of the names was taken
      missing = v == null || !(all isDrv items);
      drvs = filter (p: !isGlibc p) (if v == null then [ ] else filter isDrv items);
      glibc = filter isGlibc (if v == null then [ ] else filter isDrv items);
    };
  looked = map lookup s.libraries;
  missing = map (l: l.name) (filter (l: l.missing) looked);
  libraries = concatLists (map (l:
    map (p: { attribute = l.name; inherit (l) chosen; out = unsafe "${getLib p}"; drv = getLib p;
              name = p.name or ""; })
      l.drvs) (filter (l: !l.missing) looked));
  skipped = concatLists (map (l: map (p: p.name or "glibc") l.glibc) looked);

  sourceInfo =
    if flake != null then {
      outPath = flake.outPath;
      narHash = flake.narHash or flake.sourceInfo.narHash or null;
      rev = flake.rev or flake.sourceInfo.rev or null;
      lastModified = flake.lastModified or flake.sourceInfo.lastModified or null;
    }
    else if s.nixpkgs.type == "channel" then { rev = revisionOf channel; }
    else if s.nixpkgs.type == "path" then {
      tree = "${directory}";  # referenced by the manifest: the project's GC root keeps it
      # fetchTree of a store path named "source" copies nothing; it reports the NAR hash.
      narHash = s.nixpkgs.narHash or
        (builtins.fetchTree { type = "path"; path = unsafe "${directory}"; }).narHash;
    }
    else null;

  # Store paths to keep alive with this result: the interpreter the project's venv still
  # uses (it may differ from the one just chosen until uv recreates the venv). Referenced
  # from the manifest, so they are in the GC root's closure without being linked into it.
  kept = map builtins.storePath (s.keep or [ ]);

  # nixpkgs' release ("25.11"), only to name it in the closing line; null when absent.
  nixpkgsRelease =
    let r = tryEval (pkgs.lib.trivial.release or null);
    in if r.success && builtins.isString r.value then r.value else null;

  manifest = toFile "uvx-nix-manifest.json" (toJSON {
    format = 1;
    inherit system candidates missing skipped kept nixpkgsRelease;
    source = sourceInfo;
    python = pythonInfo;
    libraries = map (l: { inherit (l) attribute chosen out name; }) libraries;
  });

  paths = (if python == null then [ ] else [ "${python}" ]) ++ map (l: "${l.drv}") libraries;
in
derivation {
  name = "uvx-nix-env";
  system = "builtin";
  builder = "builtin:buildenv";
  inherit manifest;
  derivations = concatLists (genList (i: [ "true" (i + 1) 1 (elemAt paths i) ]) (length paths));
  preferLocalBuild = true;
  allowSubstitutes = false;
}
