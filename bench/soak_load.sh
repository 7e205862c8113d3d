#!/bin/bash
# The soak's load (bench/SOAK.md): a steady mixed load on one instance at a modest rate,
# as it ran. Usage: bench/soak_load.sh PORT SECONDS (under nice -n 10).
P=$1; END=$(( $(date +%s) + $2 )); B=http://127.0.0.1:$P
alive() { [ $(date +%s) -lt $END ]; }
gets() { while alive; do
  urls=()
  for i in $(seq 8); do urls+=("$B/posts/$(( RANDOM % 100 + 1 ))"); done          # hits
  for i in $(seq 4); do urls+=("$B/posts?_page=$(( RANDOM % 5000 + 1 ))"); done     # misses, many keys
  for i in $(seq 3); do urls+=("$B/photos?_page=$(( RANDOM % 250 + 1 ))&_limit=$(( RANDOM % 3 * 10 + 10 ))"); done
  for i in $(seq 3); do urls+=("$B/comments?postId=$(( RANDOM % 100 + 1 ))&_page=$(( RANDOM % 400 ))"); done
  urls+=("$B/users/$(( RANDOM % 10 + 1 ))/summary" "$B/todos?_page=$(( RANDOM % 2000 ))")
  curl -s -o /dev/null --compressed "${urls[@]}"
  sleep 1; done; }
reval() { while alive; do
  for u in /posts/1 /users /posts/7/comments; do
    et=$(curl -s -D - -o /dev/null $B$u | awk 'tolower($1)=="etag:"{print $2}' | tr -d '\r')
    curl -s -o /dev/null -H "If-None-Match: $et" $B$u $B$u $B$u
  done; sleep 2; done; }
bad() { while alive; do
  curl -s -o /dev/null $B/posts/abc $B/nope-$RANDOM "$B/posts?_page=abc" "$B/posts?_limit=-1" \
    "$B/users/1/summary?x=$RANDOM" $B/files/nosuch$RANDOM $B/posts/0 "$B/files?limit=zz" \
    -X GET $B/posts/999999
  curl -s -o /dev/null -X POST -H 'content-type: application/json' -d '{bad' $B/posts
  sleep 1; done; }
uploads() { sizes=(1024 65536 1048576 8388608 300 200000); while alive; do
  s=${sizes[$(( RANDOM % 6 ))]}
  id=$(head -c $s /dev/urandom | curl -s -T - "$B/files/soak$RANDOM.bin" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
  if [ -n "$id" ]; then
    et=$(curl -s -D - -o /dev/null $B/files/$id | awk 'tolower($1)=="etag:"{print $2}' | tr -d '\r')
    curl -s -o /dev/null -H "If-None-Match: $et" $B/files/$id -H "Range: bytes=0-99" $B/files/$id
    if [ $s -ge 1048576 ]; then timeout -s KILL 0.5 curl -s -o /dev/null --limit-rate 200k $B/files/$id; fi
    curl -s -o /dev/null -X DELETE $B/files/$id
  fi
  # an upload killed mid-body
  if (( RANDOM % 2 )); then head -c 20000000 /dev/zero | timeout -s KILL $(( RANDOM % 3 + 1 )) curl -s -o /dev/null --limit-rate 1M -T - "$B/files/abort$RANDOM.bin"; fi
  sleep 2; done; }
sse() { while alive; do
  timeout -s KILL $(( RANDOM % 5 + 1 )) curl -s -N -o /dev/null $B/uploads/events &
  timeout -s KILL $(( RANDOM % 3 + 1 )) curl -s -N -o /dev/null "$B/uploads/events?id=nosuch" &
  sleep 3; done; wait; }
idle() { while alive; do
  ( exec 3<>/dev/tcp/127.0.0.1/$P; printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >&3; sleep $(( RANDOM % 20 + 1 )); exec 3>&- ) 2>/dev/null &
  ( exec 3<>/dev/tcp/127.0.0.1/$P; sleep $(( RANDOM % 10 + 1 )); exec 3>&- ) 2>/dev/null &
  ( exec 3<>/dev/tcp/127.0.0.1/$P; printf 'GET /posts/1 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\nGET /posts' >&3; sleep 2; exec 3>&- ) 2>/dev/null &
  sleep 2; done; wait; }
gets & reval & bad & uploads & sse & idle & wait
