#!/usr/bin/env bash
# Records assets/corpus/benign.ndjson.gz: ordinary software talking over
# loopback, in a network namespace of its own so nothing else on the
# machine gets in, watched by necromap for 90 s at 1 s.
#
#   sudo bash assets/corpus/record-benign.sh [path/to/necromap]
#
# What runs (Debian packages: nginx-light, postgresql, redis-server,
# openssh-server, nodejs, curl, util-linux; a python from ~/.pyenv when there
# is one): nginx (HTTP and TLS), PostgreSQL with pgbench clients, Redis with
# a keep-alive client, sshd with a terminal session running a loop, a
# Python dev server (python3 -m http.server) from the ~/.pyenv toolchain, a
# Node dev server from ~/.nvm, a VS Code-style server under
# ~/.vscode-server hosting a terminal through a pty helper, a browser-like
# pool of keep-alive HTTPS clients, a client pool stuck on a full accept
# queue, and a cron-style health check every 4 s.
# Everything is stopped and the namespace removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
necromap=$(realpath "${1:-$here/../../target/debug/necromap}")
out=$here/benign.ndjson.gz
ns=necromap-benign
work=/srv/necromap-corpus-benign
[ "$(id -u)" = 0 ] || { echo "run as root: it creates a network namespace and starts system services" >&2; exit 1; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f $work/pg/postmaster.pid ] && su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/pg_ctl -D $work/pg -m immediate stop" >/dev/null 2>&1 || true
  sleep 1
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del $ns 2>/dev/null || true
  rm -rf $work
}
trap cleanup EXIT
in_ns() { ip netns exec $ns "$@"; }
bg() { in_ns "$@" & pids+=($!); }

rm -rf $work; mkdir -p $work/home; cd /
ip netns add $ns
in_ns ip link set lo up

# nginx: HTTP on :80, TLS on :443 (self-signed).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout $work/tls.key -out $work/tls.crt 2>/dev/null
cat > $work/nginx.conf <<CONF
daemon off; pid $work/nginx.pid; error_log $work/nginx.err; worker_processes 2;
events {}
http {
  access_log off;
  server { listen 127.0.0.1:80; location / { return 200 "ok\n"; } }
  server { listen 127.0.0.1:443 ssl; ssl_certificate $work/tls.crt; ssl_certificate_key $work/tls.key; keepalive_timeout 120s; location / { return 200 "ok\n"; } }
}
CONF
bg nginx -c $work/nginx.conf

# PostgreSQL on 127.0.0.1:5432, as the postgres user, with pgbench clients.
mkdir -p $work/pg $work/pgsock; chown postgres: $work/pg $work/pgsock
su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/initdb -D $work/pg -A trust" >/dev/null
in_ns su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/pg_ctl -D $work/pg -l $work/pg/log -o '-h 127.0.0.1 -p 5432 -k $work/pgsock' -w start" >/dev/null
in_ns su postgres -s /bin/sh -c "pgbench -i -q -h 127.0.0.1 postgres" >/dev/null 2>&1
bg su postgres -s /bin/sh -c "pgbench -h 127.0.0.1 -c 3 -T 200 -R 2 postgres >/dev/null 2>&1"

# Redis with one keep-alive client.
bg redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --dir $work
sleep 1
bg sh -c "redis-cli -h 127.0.0.1 -r -1 -i 1 INCR hits >/dev/null"

# sshd on 127.0.0.1:22 and a terminal session.
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f $work/host_key; ssh-keygen -q -t ed25519 -N '' -f $work/user_key
cp $work/user_key.pub $work/authorized_keys
printf 'Port 22\nListenAddress 127.0.0.1\nHostKey %s/host_key\nAuthorizedKeysFile %s/authorized_keys\nPidFile %s/sshd.pid\nStrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n' $work $work $work > $work/sshd_config
bg /usr/sbin/sshd -D -f $work/sshd_config
sleep 1
bg ssh -tt -i $work/user_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes root@127.0.0.1 'while sleep 5; do date >/dev/null; done'

# A Python dev server from the ~/.pyenv toolchain (python3 -m http.server binds every address).
py=$(python3 -c 'import sys; print(sys.executable)')
bg "$py" -m http.server 8000

# A Node dev server from ~/.nvm (copied there), with a slow /health.
nvm=$work/home/.nvm/versions/node/v20.20.2/bin; mkdir -p $nvm; cp /usr/bin/node $nvm/node
cat > $work/home/dev-server.js <<'JS'
const http = require('http');
http.createServer((req, res) => {
  if (req.url === '/health') setTimeout(() => res.end('ok\n'), 1200);
  else res.end('<!doctype html><title>dev</title>\n');
}).listen(5173, '127.0.0.1');
JS
bg $nvm/node $work/home/dev-server.js

# A VS Code-style server under ~/.vscode-server: it listens on loopback and
# hosts a terminal through a pty helper (a copy of script(1)) on pipes.
vsc=$work/home/.vscode-server/bin/8b3775030ed1a69b13e4f4c628c612102e30a681; mkdir -p $vsc
cp /usr/bin/node $vsc/node; cp /usr/bin/script $vsc/ptyhost
cat > $vsc/server-main.js <<'JS'
const http = require('http'), cp = require('child_process'), path = require('path');
const pty = cp.spawn(path.join(__dirname, 'ptyhost'), ['-qfec', '/bin/bash', '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
pty.stdout.on('data', () => {}); pty.stderr.on('data', () => {});
setInterval(() => pty.stdin.write('echo $((RANDOM))\n'), 5000);
http.createServer((q, s) => s.end('ok\n')).listen(39841, '127.0.0.1');
JS
bg env HOME=$work/home $vsc/node $vsc/server-main.js

# Clients: a browser-like pool of keep-alive HTTPS connections, a client
# holding the editor server's connection (its tunnel), a health check.
cat > $work/home/pool.py <<'PY'
import http.client, random, ssl, threading, time
ctx = ssl._create_unverified_context()
def worker(n):
    c = None
    while True:
        if c is None or random.random() < 0.05:
            if c: c.close()
            c = http.client.HTTPSConnection('127.0.0.1', 443, context=ctx, timeout=10)
        try:
            c.request('GET', f'/asset/{n}/{random.randint(0, 999)}'); c.getresponse().read()
        except Exception:
            c = None
        time.sleep(random.uniform(1, 3))
for n in range(6):
    threading.Thread(target=worker, args=(n,), daemon=True).start()
editor = http.client.HTTPConnection('127.0.0.1', 39841, timeout=10)
while True:
    editor.request('GET', '/'); editor.getresponse().read(); time.sleep(3)
PY
# A small-backlog service that stops accepting, and a client pool waiting
# on it in SYN_SENT (a full accept queue, not a scan).
bg "$py" -c "import socket,time;l=socket.socket();l.bind(('127.0.0.1',8088));l.listen(0);time.sleep(3600)"
cat > $work/home/waiting.py <<'PY'
import socket, time
while True:
    pool = []
    for i in range(20):
        s = socket.socket(); s.setblocking(False)
        try: s.connect(('127.0.0.1', 8088))
        except BlockingIOError: pass
        pool.append(s)
    time.sleep(20)
    for s in pool: s.close()
PY
sleep 2
bg "$py" $work/home/pool.py
bg "$py" $work/home/waiting.py
bg bash -c 'while :; do curl -fsS -m 5 http://127.0.0.1:5173/health >/dev/null; sleep 4; done'

sleep 5
echo "recording 90 s to $out" >&2
in_ns "$necromap" record --out "$out" --duration 90s --interval 1s
