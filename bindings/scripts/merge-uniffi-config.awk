# Merges a uniffi config with an override file, key by key within each [section]:
#   awk -f merge-uniffi-config.awk OVERRIDE BASE > MERGED
# uniffi 0.31's `generate --config FILE` *replaces* the crate's uniffi.toml rather than merging
# with it (whatever its --help says), so an override that only sets `android = false` would drop
# the package name. Only single-line `key = value` entries are supported, which is all uniffi
# configs use here.
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function keyof(line,   k) { k = line; sub(/=.*/, "", k); return trim(k) }
function flush(sec,   i) {
    for (i = 1; i <= n[sec]; i++) print ov[sec, i]
    done[sec] = 1
}
FNR == NR {                       # first file: the override
    if ($0 ~ /^[ \t]*(#|$)/) next
    if ($0 ~ /^[ \t]*\[/) { cur = trim($0); if (!(cur in seen)) { seen[cur] = 1; order[++ns] = cur }; next }
    n[cur]++; ov[cur, n[cur]] = $0; has[cur, keyof($0)] = 1
    next
}
/^[ \t]*\[/ {                     # base: a new section starts; its overrides go first
    sec = trim($0); print
    if (sec in seen && !(sec in done)) flush(sec)
    next
}
/^[ \t]*(#|$)/ { print; next }
{ if ((sec, keyof($0)) in has) next; print }
END {
    for (i = 1; i <= ns; i++) if (!(order[i] in done)) { print ""; print order[i]; flush(order[i]) }
}
