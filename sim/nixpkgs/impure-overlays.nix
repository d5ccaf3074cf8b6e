# The user's overlays, as nixpkgs' pkgs/top-level/impure-overlays.nix finds them (same
# shape): <nixpkgs-overlays> on NIX_PATH, else $XDG_CONFIG_HOME/nixpkgs/overlays.nix or
# overlays/ (XDG_CONFIG_HOME defaulting to $HOME/.config). Empty under pure evaluation.
let
  try = x: def: let res = builtins.tryEval x; in if res.success then res.value else def;
  homeDir = builtins.getEnv "HOME";
  xdgConfigHomeVar = builtins.getEnv "XDG_CONFIG_HOME";
  xdgConfigHome = if xdgConfigHomeVar != "" then xdgConfigHomeVar else homeDir + "/.config";
  isDir = path: builtins.pathExists (path + "/.");
  pathOverlays = try (toString <nixpkgs-overlays>) "";
  homeOverlaysFile = xdgConfigHome + "/nixpkgs/overlays.nix";
  homeOverlaysDir = xdgConfigHome + "/nixpkgs/overlays";
  overlays = path:
    if isDir path then
      let content = builtins.readDir path; in
      map (n: import (path + ("/" + n))) (
        builtins.filter (n:
          (builtins.match ".*\\.nix" n != null && builtins.match "\\.#.*" n == null)
          || builtins.pathExists (path + ("/" + n + "/default.nix"))
        ) (builtins.attrNames content))
    else import path;
in
if pathOverlays != "" && builtins.pathExists pathOverlays then overlays pathOverlays
else if builtins.pathExists homeOverlaysFile && builtins.pathExists homeOverlaysDir then
  throw ''
    Nixpkgs overlays can be specified with ${homeOverlaysFile} or ${homeOverlaysDir}, but not both.
    Please remove one of them and try again.
  ''
else if builtins.pathExists homeOverlaysFile then
  if isDir homeOverlaysFile then throw (homeOverlaysFile + " should be a file") else overlays homeOverlaysFile
else if builtins.pathExists homeOverlaysDir then
  if !(isDir homeOverlaysDir) then throw (homeOverlaysDir + " should be a directory") else overlays homeOverlaysDir
else [ ]
