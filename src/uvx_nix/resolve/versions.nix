# PEP 440 clauses on release versions, as in uvx_nix/resolve/python_request.py (tests check they agree).
let
  inherit (builtins) elemAt fromJSON genList head length match;
  max = a: b: if a > b then a else b;
  min = a: b: if a < b then a else b;
  pad = n: l: if length l >= n then l else l ++ genList (_: 0) (n - length l);
  cmpList = a: b:
    let
      n = max (length a) (length b);
      pa = pad n a;
      pb = pad n b;
      go = i:
        if i == n then 0
        else if elemAt pa i < elemAt pb i then -1
        else if elemAt pa i > elemAt pb i then 1
        else go (i + 1);
    in go 0;
  takeN = n: l: genList (i: elemAt l i) (min n (length l));
  toInt = str: let m = match "([0-9]+).*" (toString str); in if m == null then 0 else fromJSON (head m);

  clauseOk = c: rel:
    if c.wildcard then
      (let eq = takeN (length c.release) (pad (length c.release) rel) == c.release;
       in if c.op == "==" then eq else !eq)
    else
      let r = cmpList rel c.release; in
      if c.op == "==" then r == 0
      else if c.op == "===" then r == 0 && length rel == length c.release
      else if c.op == "!=" then r != 0
      else if c.op == "<" then r < 0
      else if c.op == "<=" then r <= 0
      else if c.op == ">" then r > 0
      else r >= 0;

in
{
  inherit cmpList clauseOk toInt;
}
