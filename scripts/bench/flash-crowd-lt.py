#!/usr/bin/python3
# Stock libtorrent (Debian's python3-libtorrent) for scripts/bench/flash-crowd.mjs: one node
# of the crowd, run inside its network namespace. TCP only; DHT, LSD, UPnP, NAT-PMP and uTP
# off; no tracker: downloaders are connected to every other node directly. Default
# settings otherwise (choking, piece picking, piece size chosen by create_torrent).
#
#   flash-crowd-lt.py make FILE TORRENT            write a .torrent for FILE
#   flash-crowd-lt.py seed TORRENT DIR IP          seed DIR/<name> until stdin closes
#   flash-crowd-lt.py get TORRENT DIR IP PEER...   print "ready", wait for a "go" line on stdin, then
#                                                  download into DIR from PEERs (ip:port), print a
#                                                  JSON "done" line, seed until stdin closes
# Every node listens on IP:6881. Output: JSON lines on stdout.
import json
import sys
import threading
import time

import libtorrent as lt

PORT = 6881


def session(ip):
    return lt.session({
        'listen_interfaces': f'{ip}:{PORT}',
        'outgoing_interfaces': ip,
        'enable_dht': False,
        'enable_lsd': False,
        'enable_upnp': False,
        'enable_natpmp': False,
        'enable_outgoing_utp': False,
        'enable_incoming_utp': False,
        'alert_mask': 0,
    })


def stdin_events():
    go = threading.Event()
    done = threading.Event()

    def wait():
        for line in sys.stdin:
            if line.strip() == 'go':
                go.set()
        go.set()
        done.set()
    threading.Thread(target=wait, daemon=True).start()
    return go, done


def main():
    cmd = sys.argv[1]
    if cmd == 'make':
        fs = lt.file_storage()
        lt.add_files(fs, sys.argv[2])
        t = lt.create_torrent(fs)
        lt.set_piece_hashes(t, sys.argv[2].rsplit('/', 1)[0] or '.')
        with open(sys.argv[3], 'wb') as f:
            f.write(lt.bencode(t.generate()))
        return
    torrent, save, ip = sys.argv[2], sys.argv[3], sys.argv[4]
    go, stop = stdin_events()
    ses = session(ip)
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent)
    params.save_path = save
    if cmd == 'seed':
        params.flags |= lt.torrent_flags.seed_mode
        ses.add_torrent(params)
        print(json.dumps({'event': 'ready'}), flush=True)
        stop.wait()
        return
    print(json.dumps({'event': 'ready'}), flush=True)
    go.wait()
    start = time.time()
    cpu0 = time.process_time()
    h = ses.add_torrent(params)
    for peer in sys.argv[5:]:
        host, port = peer.rsplit(':', 1)
        h.connect_peer((host, int(port)))
    seeder = sys.argv[5].rsplit(':', 1)[0]
    last_connect = time.time()
    # bytes from each peer, as last seen (libtorrent drops its connections to seeds once it
    # is a seed itself, so they are counted while downloading)
    got = {}
    while not stop.is_set():
        for p in h.get_peer_info():
            got[p.ip[0]] = max(got.get(p.ip[0], 0), p.total_download)
        s = h.status()
        if s.is_seeding:
            from_seeder = got.get(seeder, 0)
            from_peers = sum(v for k, v in got.items() if k != seeder)
            print(json.dumps({'event': 'done', 'seconds': time.time() - start, 'bytes': params.ti.total_size(),
                              'fromSeeder': from_seeder, 'fromPeers': from_peers,
                              'cpuSeconds': time.process_time() - cpu0, 'pieceSize': params.ti.piece_length()}), flush=True)
            break
        # a peer that went away is connected again (libtorrent has no tracker to ask here)
        if time.time() - last_connect > 1 and len(h.get_peer_info()) < len(sys.argv[5:]):
            last_connect = time.time()
            for peer in sys.argv[5:]:
                host, port = peer.rsplit(':', 1)
                h.connect_peer((host, int(port)))
        time.sleep(0.05)
    stop.wait()


main()
