# Evaluates uvx-nix's Nix-side version matching on cases given as JSON data.
{ cases, versions }:
let
  v = import versions;
in
map (c: builtins.all (cl: v.clauseOk cl c.version) c.clauses) (builtins.fromJSON cases)
