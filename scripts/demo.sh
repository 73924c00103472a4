#!/usr/bin/env bash
# FileShare on localhost: a SwarmMaster, two sharing peers with generated sample folders,
# a name search and verified downloads (through the master, and straight from a peer).
# Run it with `npm run demo` (builds first). Everything lives in a temporary folder that is
# removed at the end, with every process this script started. Bob and the master run with
# their web UI (--web); `npm run demo -- --keep` (or DEMO_KEEP=1) leaves the swarm running
# until Ctrl-C so the pages can be opened.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/peer.js ] || npm run build
KEEP=${DEMO_KEEP:-0}
[ "${1:-}" = "--keep" ] && KEEP=1

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fileshare-demo-XXXXXX")
PIDS=()
cleanup () {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
LOCAL=/ip4/127.0.0.1/tcp/0
if [ -t 1 ]; then step () { printf '\n\033[1m== %s\033[0m\n' "$*"; }; else step () { printf '\n== %s\n' "$*"; }; fi
# waits for a JSON event in a log file and prints one field of it
event_field () { # FILE EVENT FIELD
  for _ in $(seq 100); do
    if grep -q "\"event\":\"$2\"" "$1" 2>/dev/null; then
      grep -m1 "\"event\":\"$2\"" "$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];console.log(Array.isArray(v)?v[0]:v)})' "$3"
      return 0
    fi
    sleep 0.1
  done
  echo "no $2 event in $1:" >&2; cat "$1" >&2; return 1
}

step "Generating sample folders in $WORK"
mkdir -p "$WORK/alice/Photos/Holiday 2025" "$WORK/alice/docs" "$WORK/bob/music" "$WORK/downloads"
head -c $((5 * 1024 * 1024 + 123)) /dev/urandom > "$WORK/alice/Photos/Holiday 2025/beach-sunset.jpg"
head -c $((2 * 1024 * 1024)) /dev/urandom > "$WORK/alice/Photos/Holiday 2025/mountain.jpg"
printf 'Agenda: ship FileShare.\n' > "$WORK/alice/docs/meeting-notes.txt"
head -c $((3 * 1024 * 1024)) /dev/urandom > "$WORK/bob/music/holiday-song.mp3"
find "$WORK/alice" "$WORK/bob" -type f | sed "s#$WORK/#  #"

step "Starting the SwarmMaster"
node dist/master.js --listen "$LOCAL" --data "$WORK/master" --web 127.0.0.1:0 --json > "$WORK/master.log" 2>&1 &
PIDS+=($!)
MASTER=$(event_field "$WORK/master.log" ready addrs)
echo "master at $MASTER"

step "Starting two sharing peers (alice and bob)"
node dist/peer.js --share "$WORK/alice" --master "$MASTER" --listen "$LOCAL" --data "$WORK/alice-key" --json > "$WORK/alice.log" 2>&1 &
PIDS+=($!)
node dist/peer.js --share "$WORK/bob" --master "$MASTER" --listen "$LOCAL" --data "$WORK/bob-key" --web 127.0.0.1:0 --downloads "$WORK/downloads" --json > "$WORK/bob.log" 2>&1 &
PIDS+=($!)
ALICE=$(event_field "$WORK/alice.log" ready addrs)
BOB=$(event_field "$WORK/bob.log" ready addrs)
echo "alice shares $(event_field "$WORK/alice.log" ready files) file(s) at $ALICE"
echo "bob   shares $(event_field "$WORK/bob.log" ready files) file(s) at $BOB"
# registration follows `ready`: wait until the master answers for both peers' files
for _ in $(seq 50); do
  n=$(node dist/peer.js search holiday --master "$MASTER" --json 2>/dev/null | grep -c '"event":"result"' || true)
  [ "$n" -ge 3 ] && break
  sleep 0.2
done

step "peer.js search holiday   (words and word prefixes of names and folders)"
node dist/peer.js search holiday --master "$MASTER"

step "peer.js get beach-sunset.jpg   (by name, through the master, verified chunk by chunk)"
node dist/peer.js get beach-sunset.jpg --master "$MASTER" --out "$WORK/downloads"

step "peer.js get <id of holiday-song.mp3>   (by content id, from bob)"
SONG_ID=$(node dist/peer.js search song --master "$MASTER" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s.split("\n")[0]).id))')
node dist/peer.js get "$SONG_ID" --master "$MASTER" --out "$WORK/downloads"

step "peer.js get meeting-notes.txt --from <alice>   (straight from a peer, no master)"
node dist/peer.js get meeting-notes.txt --from "$ALICE" --out "$WORK/downloads"

step "Web UIs (token in the URL, as Jupyter does; scripts send Authorization: Bearer TOKEN)"
echo "bob's peer UI:        $(event_field "$WORK/bob.log" web open)"
echo "master dashboard:     $(event_field "$WORK/master.log" web open)"
BOB_URL=$(event_field "$WORK/bob.log" web url)
BOB_TOKEN=$(event_field "$WORK/bob.log" web token)
node -e 'fetch(process.argv[1] + "api/status", { headers: { Authorization: "Bearer " + process.argv[2] } }).then(r => r.json()).then(s => console.log(`GET ${process.argv[1]}api/status: ${s.peerId} ${s.reachability.reachability}, sharing ${s.share.files} file(s)`))' "$BOB_URL" "$BOB_TOKEN"
node -e 'fetch(process.argv[1] + "api/status").then(r => console.log(`without the token: HTTP ${r.status}`))' "$BOB_URL"
echo "peer.js status --data <bob's data folder>:"
node dist/peer.js status --data "$WORK/bob-key" | sed 's/^/  /'

step "Comparing the downloads with the originals"
ok=0
for pair in "alice/Photos/Holiday 2025/beach-sunset.jpg:beach-sunset.jpg" "bob/music/holiday-song.mp3:holiday-song.mp3" "alice/docs/meeting-notes.txt:meeting-notes.txt"; do
  src="$WORK/${pair%%:*}"; dst="$WORK/downloads/${pair##*:}"
  if cmp -s "$src" "$dst"; then echo "  identical: ${pair##*:} ($(wc -c < "$dst") bytes)"; else echo "  DIFFERENT: ${pair##*:}"; ok=1; fi
done

step "A failure: an unknown name (exit code 1, one clear line on stderr)"
set +e
node dist/peer.js get no-such-file.txt --master "$MASTER" --out "$WORK/downloads"
echo "exit code $?"
set -e

if [ "$KEEP" = 1 ]; then
  step "The swarm keeps running: open the URLs above; Ctrl-C stops it"
  trap 'echo' INT
  sleep infinity & PIDS+=($!); wait $! || true
  trap - INT
fi

step "Stopping the peers and the master (SIGTERM)"
for pid in "${PIDS[@]}"; do kill -TERM "$pid"; done
for pid in "${PIDS[@]}"; do wait "$pid" || { echo "process $pid exited with $?"; ok=1; }; done
PIDS=()
grep -h '"event":"stopped"' "$WORK/master.log" "$WORK/alice.log" "$WORK/bob.log" | sed 's/^/  /'
[ $ok = 0 ] && echo && echo "demo finished: every download verified and identical"
exit $ok
