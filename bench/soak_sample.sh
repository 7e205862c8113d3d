#!/bin/bash
# The soak's sampler (bench/SOAK.md): one row a minute, tab-separated, into $SOAK_DIR/<name>.tsv.
# usage: bench/soak_sample.sh NAME PID PORT INSPECT_PORT DATA_DIR [REDIS_PORT] (stops when PID ends)
name=$1 pid=$2 sp=$3 ip=$4 dd=$5 rp=$6
out=${SOAK_DIR:-/tmp}/$name.tsv
echo -e "utc\tmin\trss_mb\theap_mb\theap_gc_mb\theap_total_mb\tfds\tthreads\tpart_files\tfiles\tcache_entries\tconns_open\twatchers\treqs_total\tredis_keys\tredis_mem_mb\tload1" > $out
t0=$(date +%s)
while kill -0 $pid 2>/dev/null; do
  rss=$(awk '/VmRSS/{printf "%.1f",$2/1024}' /proc/$pid/status)
  thr=$(awk '/Threads/{print $2}' /proc/$pid/status)
  fds=$(ls /proc/$pid/fd | wc -l)
  heap=$(timeout 20 deno run -A "$(dirname "$0")/heap_inspect.ts" $ip usage 2>/dev/null | tr ' ' '\t')
  [ -z "$heap" ] && heap=$'-\t-\t-'
  parts=$(find $dd -name '*.part' 2>/dev/null | wc -l)
  files=$(find $dd -type f 2>/dev/null | wc -l)
  m=$(curl -s --max-time 10 http://127.0.0.1:$sp/metrics)
  ce=$(echo "$m" | awk '/^cache_entries[ {]/{s+=$NF} END{print s+0}')
  co=$(echo "$m" | awk '/^http_connections_open[ {]/{s+=$NF} END{print s+0}')
  wa=$(echo "$m" | awk '/^upload_watchers[ {]/{s+=$NF} END{print s+0}')
  rt=$(echo "$m" | awk '/^http_requests_total[ {]/{s+=$NF} END{print s+0}')
  if [ -n "$rp" ]; then
    rk=$(redis-cli -p $rp dbsize); rm_=$(redis-cli -p $rp info memory | awk -F: '/^used_memory:/{printf "%.2f",$2/1048576}')
  else rk=-; rm_=-; fi
  ld=$(cut -d' ' -f1 /proc/loadavg)
  echo -e "$(date -u +%H:%M:%S)\t$(( ($(date +%s)-t0)/60 ))\t$rss\t$heap\t$fds\t$thr\t$parts\t$files\t$ce\t$co\t$wa\t$rt\t$rk\t$rm_\t$ld" >> $out
  sleep 60
done
