#!/bin/sh
# check_layers.sh: fails when a gateway file includes the header of its own layer's
# sibling or of a layer above it (the layers: gateway/README.md).
#
# usage: check_layers.sh [GATEWAY_DIR]   (default: the folder of this script)
# Every gw_*.c / gw_*.h file must belong to a module of the table below, and may include
# the header of its own module and those of lower layers only. Two modules of one layer
# do not include each other either, so no cycle can form. Exit 0 when all is well, 1
# with one line per violation.
set -eu
dir=${1:-$(dirname "$0")}

# layer module: 0 is the bottom; a new module gets its line here.
table='
0 gw_config
0 gw_task
1 gw_req
1 gw_backend
1 gw_events
2 gw_backend_test
2 gw_json
3 gw_session
4 gw_handler
5 gw_api
5 gw_privacy
5 gw_static
5 gw_sse
6 gw_routes
7 gw_server
8 gw_main
8 gw_selftest
'

status=0
for f in "$dir"/gw_*.c "$dir"/gw_*.h; do
    [ -e "$f" ] || continue
    base=$(basename "$f")
    out=$(printf '%s\n' "$table" | awk -v file="$base" '
        BEGIN { mod = file; sub(/\.[ch]$/, "", mod) }
        NR == FNR { if (NF == 2) rank[$2] = $1; next }
        !(mod in rank) { exit }
        /^[ \t]*#[ \t]*include[ \t]*"gw_[A-Za-z0-9_]*\.h"/ {
            inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*$/, "", inc)
            dep = inc; sub(/\.h$/, "", dep)
            if (dep == mod)
                next
            if (!(dep in rank))
                printf "%s:%d: includes %s, a module not in the layer table\n", file, FNR, inc
            else if (rank[dep] + 0 >= rank[mod] + 0)
                printf "%s:%d: includes %s: %s (layer %d) may include only lower layers, " \
                       "%s is layer %d\n", file, FNR, inc, mod, rank[mod], dep, rank[dep]
        }
        END {
            if (!(mod in rank))
                printf "%s: module %s is not in the layer table of check_layers.sh\n", file, mod
        }' - "$f")
    if [ -n "$out" ]; then
        printf '%s\n' "$out" >&2
        status=1
    fi
done
[ $status -eq 0 ] && echo "gateway layers: every include goes downward"
exit $status
