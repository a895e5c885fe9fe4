#!/usr/bin/env bash
# Times the phases of `make test` so a run ends with where its time went.
# usage: scripts/phase.sh start NAME | end NAME | note NAME SECONDS | report | reset
# A note is a part of a phase (a tool built), listed under the total.
set -euo pipefail
file=${VIGIL_PHASES:-.work/phases.txt}
mkdir -p "$(dirname "$file")"
case "${1:-}" in
  reset) rm -f "$file" ;;
  start) echo "start $2 $(date +%s)" >> "$file" ;;
  end) echo "end $2 $(date +%s)" >> "$file" ;;
  note) echo "note $2 $3" >> "$file" ;;
  report)
    [ -f "$file" ] || exit 0
    echo "==> make test: where the time went"
    # Phases may overlap (tools build beside lint and unit): the total is
    # the wall time from the first start to the last end.
    awk '$1=="start"{s[$2]=$3; order[n++]=$2; if(!first||$3<first)first=$3} $1=="end"{e[$2]=$3; if($3>last)last=$3}
         END{for(i=0;i<n;i++){k=order[i]; if(k in e){d=e[k]-s[k]; printf "    %-8s %4d min %02d s (from %d min %02d s)\n", k, d/60, d%60, (s[k]-first)/60, (s[k]-first)%60} else printf "    %-8s did not finish\n", k}
             t=last-first; printf "    %-8s %4d min %02d s\n", "total", t/60, t%60
             for(i=0;i<m;i++) printf "      built %-10s %4d min %02d s\n", nn[i], nv[i]/60, nv[i]%60}
         $1=="note"{nn[m+0]=$2; nv[m+0]=$3; m++}' "$file"
    ;;
  *) echo "usage: $0 start NAME | end NAME | note NAME SECONDS | report | reset" >&2; exit 2 ;;
esac
