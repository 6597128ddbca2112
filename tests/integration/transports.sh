# transports — the test servers and weakproxy themselves, checked with
# stock clients (python3's sockets, urllib and ssl; OpenSSH's sftp), so the
# transport tests stand on measured ground: nginx serves both families over
# HTTP and HTTPS with the run's CA and logs bytes per request, sshd serves
# SFTP to the test key only and only with the right known_hosts, each
# weakproxy option does what it says at the offset it says, and
# servers_stop (or the watchdog, when the owner dies) ends exactly what was
# started.  The C tests in tests/sync/ drive the transports themselves.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/servers.sh"
S=$T/srv
mkdir -p "$S" "$T/www/sub"
export FERRY_SERVERS_OWNER=$$ FERRY_SERVERS_DIR=$S
trap 'servers_stop "$S"; servers_stop "$T/srv2"' EXIT
python3 -c 'import os; open(os.sys.argv[1], "wb").write(os.urandom(600000))' "$T/www/big.bin"
printf 'hello\n' >"$T/www/small.txt"

# client.py HOST PORT PATH OUT [HEADER...]: one HTTP/1.0 GET over a raw
# socket; writes the body to OUT and prints "raw_bytes header_bytes
# first_byte_s total_s longest_gap_s end" (end: eof or reset).
cat >"$T/client.py" <<'EOF'
import socket, sys, time
host, port, path, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
extra = "".join(h + "\r\n" for h in sys.argv[5:])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
t0 = time.time()
s.connect((host, port))
s.sendall(("GET %s HTTP/1.0\r\nHost: t\r\n%s\r\n" % (path, extra)).encode())
data, first, gap, last, end = bytearray(), None, 0.0, time.time(), "eof"
while True:
    try:
        b = s.recv(65536)
    except ConnectionResetError:
        end = "reset"
        break
    now = time.time()
    if not b:
        break
    if first is None:
        first = now - t0
    gap, last = max(gap, now - last), now
    data += b
head = data.find(b"\r\n\r\n") + 4
open(out, "wb").write(data[head:])
print(len(data), head, "%.3f" % (first or 0), "%.3f" % (time.time() - t0), "%.3f" % gap, end)
EOF
get() { python3 "$T/client.py" "$@"; }
ge() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2"; }

if ! servers_nginx_start "$T/www" >/dev/null; then
	fail "nginx starts"
	finish
fi
ok "nginx starts on ports $FERRY_HTTP_PORT (http) and $FERRY_HTTPS_PORT (https)"
if ! servers_sshd_start "$T/www" >/dev/null; then
	fail "sshd starts: $(tail -n 3 "$S/sshd.log")"
	finish
fi
ok "sshd starts on port $FERRY_SFTP_PORT"

# ---- nginx ------------------------------------------------------------------
both_families() {
	get 127.0.0.1 "$FERRY_HTTP_PORT" /big.bin "$T/b4" >/dev/null &&
		get ::1 "$FERRY_HTTP_PORT" /big.bin "$T/b6" >/dev/null &&
		cmp "$T/b4" "$T/www/big.bin" && cmp "$T/b6" "$T/www/big.bin"
}
check "http over IPv4 and IPv6 serves the folder" both_families
cat >"$T/https.py" <<'EOF'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2] if len(sys.argv) > 2 else None)
print(urllib.request.urlopen(sys.argv[1], context=ctx, timeout=10).read().decode(), end="")
EOF
https_hello() { [ "$(python3 "$T/https.py" "https://$1:$FERRY_HTTPS_PORT/small.txt" "$FERRY_CA")" = hello ]; }
for host in localhost 127.0.0.1 '[::1]'; do
	check "https to $host verifies with the run's CA" https_hello "$host"
done
check_exit "https without the CA fails verification" 1 python3 "$T/https.py" \
	"https://localhost:$FERRY_HTTPS_PORT/small.txt"
range_logged() {
	get 127.0.0.1 "$FERRY_HTTP_PORT" /big.bin "$T/r" 'Range: bytes=10-19' >/dev/null &&
		tail -n 1 "$FERRY_NGINX_LOG" | grep -q ' /big.bin 206 "bytes=10-19" [0-9]* 10$'
}
check "the access log records a range request and its body bytes" range_logged
norange() {
	get 127.0.0.1 "$FERRY_HTTP_PORT" /norange/big.bin "$T/r" 'Range: bytes=10-19' >/dev/null &&
		cmp "$T/r" "$T/www/big.bin"
}
check "/norange/ ignores Range" norange
statuses() {
	get 127.0.0.1 "$FERRY_HTTP_PORT" /moved/small.txt "$T/r" >/dev/null &&
		get 127.0.0.1 "$FERRY_HTTP_PORT" /broken/small.txt "$T/r" >/dev/null &&
		[ "$(tail -n 2 "$FERRY_NGINX_LOG" | awk '{printf "%s ", $6}')" = "302 500 " ]
}
check "/moved/ redirects and /broken/ fails" statuses

# ---- sshd -------------------------------------------------------------------
sftp_get() { # host known_hosts key out
	printf 'get %s %s\n' "$FERRY_SFTP_ROOT/big.bin" "$4" >"$T/batch"
	sftp -q -b "$T/batch" -P "$FERRY_SFTP_PORT" -i "$3" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$2" -o GlobalKnownHostsFile=/dev/null \
		"$FERRY_SFTP_USER@$1"
}
sftp_fetch() { sftp_get "$1" "$FERRY_KNOWN_HOSTS" "$FERRY_SSH_KEY" "$T/s" && cmp "$T/s" "$T/www/big.bin"; }
check "sftp with the test key and known_hosts, IPv4" sftp_fetch 127.0.0.1
check "sftp with the test key and known_hosts, IPv6" sftp_fetch "[::1]"
if sftp_get 127.0.0.1 "$FERRY_KNOWN_HOSTS_WRONG" "$FERRY_SSH_KEY" "$T/sx" >/dev/null 2>&1; then
	fail "sftp refuses the wrong known_hosts"
else ok "sftp refuses the wrong known_hosts"; fi
if sftp_get 127.0.0.1 "$FERRY_KNOWN_HOSTS" "$FERRY_SSH_KEY_UNAUTHORIZED" "$T/sx" >/dev/null 2>&1; then
	fail "sshd refuses a key that is not authorized"
else ok "sshd refuses a key that is not authorized"; fi

# ---- weakproxy ----------------------------------------------------------------
proxy() { # name args... -> $P
	servers_proxy_start "$@" --to "127.0.0.1:$FERRY_HTTP_PORT" >/dev/null || return 1
	P=$FERRY_PROXY_PORT
}
read_result() { read -r RAW HEAD FIRST TOTAL GAP END <<<"$1"; }

proxy plain && read_result "$(get 127.0.0.1 "$P" /big.bin "$T/p")"
check "weakproxy passes a response through untouched" cmp "$T/p" "$T/www/big.bin"
proxy v6 --listen '[::1]:0' && read_result "$(get ::1 "$P" /big.bin "$T/p")"
check "weakproxy listens on IPv6" cmp "$T/p" "$T/www/big.bin"

proxy trunc --truncate-after 100000 && read_result "$(get 127.0.0.1 "$P" /big.bin "$T/p")"
check "--truncate-after 100000: exactly 100000 bytes, then a clean close" \
	test "$RAW $END" = "100000 eof"
check "  and those bytes are the file's" cmp -n $((100000 - HEAD)) "$T/p" "$T/www/big.bin"

proxy reset --reset-after 100000 && read_result "$(get 127.0.0.1 "$P" /big.bin "$T/p")"
check "--reset-after 100000: exactly 100000 bytes, then a reset" test "$RAW $END" = "100000 reset"

proxy corrupt --corrupt-after 50000 && read_result "$(get 127.0.0.1 "$P" /big.bin "$T/p")"
one_diff_at() { [ "$(cmp -l "$T/p" "$T/www/big.bin" | awk '{print $1}')" = "$1" ]; }
check "--corrupt-after 50000: one byte differs, at offset 50000 of the stream" \
	one_diff_at $((50000 - HEAD + 1))

proxy stall --stall-after 30000 --stall-for 2 && read_result "$(get 127.0.0.1 "$P" /big.bin "$T/p")"
check "--stall-after 30000 --stall-for 2: a 2 s gap ($GAP s)" ge "$GAP" 1.9
check "  and nothing lost" cmp "$T/p" "$T/www/big.bin"

proxy rate --rate 256K && read_result "$(get 127.0.0.1 "$P" /big.bin "$T/p")"
check "--rate 256K: 600 kB take over 2 s ($TOTAL s)" ge "$TOTAL" 2.1
check "  and arrive intact" cmp "$T/p" "$T/www/big.bin"

proxy latency --latency 200 && read_result "$(get 127.0.0.1 "$P" /small.txt "$T/p")"
check "--latency 200: the first byte after one round trip of 400 ms ($FIRST s)" ge "$FIRST" 0.39

proxy faulty --reset-after 1000 --faulty 1 &&
	r1=$(get 127.0.0.1 "$P" /big.bin "$T/p1") && r2=$(get 127.0.0.1 "$P" /big.bin "$T/p2")
check "--faulty 1: the first connection is cut" test "${r1##* }" = reset
check "  the second is clean" cmp "$T/p2" "$T/www/big.bin"

cuts=
for name in seedA seedB seedC; do
	seed=5
	[ $name = seedC ] && seed=6
	proxy $name --reset-after 10000-90000 --seed $seed &&
		cuts="$cuts $(get 127.0.0.1 "$P" /big.bin "$T/p" | cut -d' ' -f1)"
done
read -r cutA cutB cutC <<<"$cuts"
check "--reset-after N-M --seed: cuts inside the range ($cuts)" \
	test "$cutA" -ge 10000 -a "$cutA" -le 90000 -a "$cutC" -ge 10000 -a "$cutC" -le 90000
check "  the same for the same seed, another for another" test "$cutA" = "$cutB" -a "$cutA" != "$cutC"

# ---- stopping -------------------------------------------------------------------
sleep 300 &
bystander=$!
pids=$(awk '{print $2}' "$S/pids")
servers_stop
alive=
for p in $pids; do [ -d "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat")" != Z ] && alive="$alive $p"; done
check "servers_stop ends every process it started" test -z "$alive"
check "  and nothing else" kill -0 "$bystander"
closed() { ! servers__listening 127.0.0.1 "$1"; }
check "  the ports are closed" closed "$FERRY_HTTP_PORT"
kill "$bystander"

mkdir -p "$T/srv2"
sleep 300 &
owner=$!
FERRY_SERVERS_OWNER=$owner FERRY_SERVERS_DIR=$T/srv2 servers_nginx_start "$T/www" >/dev/null
npid=$(awk '$1 == "nginx" {print $2}' "$T/srv2/pids")
kill "$owner"
for i in $(seq 1 50); do
	[ -d "/proc/$npid" ] && [ "$(awk '{print $3}' "/proc/$npid/stat")" != Z ] || break
	sleep 0.1
done
gone() { ! [ -d "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat")" = Z ]; }
check "the watchdog stops the servers when their owner dies" gone "$npid"
finish
