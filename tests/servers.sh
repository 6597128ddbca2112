#!/usr/bin/env bash
# servers.sh — real servers on loopback for the transport tests.
#
# Starts nginx (HTTP and HTTPS, with a CA and server certificate made here
# by openssl), OpenSSH's sshd (SFTP only, key login, its own host key) and
# tests/tools/weakproxy, each on free ports of both 127.0.0.1 and [::1].
# All their state (configs, keys, logs, pids) lives in one directory,
# $FERRY_SERVERS_DIR, made under $FERRY_TEST_TMP (or /tmp) by the first
# start if unset, and exported.  Nothing outside it is touched except
# /run/sshd, the privilege-separation directory sshd insists on when it
# runs as root (created empty, as Debian's own unit does).  /etc/ssh and
# /etc/nginx are never read: every server gets a config file written here.
#
# Every process started is recorded in $FERRY_SERVERS_DIR/pids with its
# start time, and servers_stop kills exactly those (and the children sshd
# forked for sessions), never anything found by name.  With
# FERRY_SERVERS_OWNER=PID in the environment, a watchdog stops everything
# once PID is gone, so a test that crashes leaves no server behind.
#
# As a library (bash):
#   . tests/servers.sh
#   servers_nginx_start WWW     serves the folder WWW; exports FERRY_HTTP_PORT
#                               FERRY_HTTPS_PORT FERRY_CA, and FERRY_NGINX_LOG (the
#                               access log: one line per request).  With
#                               FERRY_NGINX_SNDBUF=BYTES set, its sockets ask for
#                               send buffers of that size (little in flight when a
#                               proxy cuts a transfer; see weakproxy --buffer)
#   servers_sshd_start [ROOT]   exports FERRY_SFTP_PORT FERRY_SSH_KEY FERRY_KNOWN_HOSTS
#                               FERRY_SFTP_USER, FERRY_SFTP_ROOT (ROOT made absolute:
#                               the path part of an sftp:// URL for it), and for
#                               refusal tests FERRY_KNOWN_HOSTS_WRONG (same names,
#                               another key) and FERRY_SSH_KEY_UNAUTHORIZED
#   servers_proxy_start NAME ARG...
#                               runs weakproxy ARG... (on 127.0.0.1 unless ARG has
#                               --listen); exports FERRY_PROXY_PORT
#   servers_proxy_stop NAME
#   servers_stop [DIR]          stops everything started in DIR ($FERRY_SERVERS_DIR)
# Each start function also prints its KEY=VALUE lines (FERRY_SERVERS_DIR too).
#
# As a command (for C tests, through popen; set FERRY_SERVERS_DIR first, or
# take it from the first start's output):
#   tests/servers.sh nginx WWW | sshd [ROOT] | proxy NAME ARG... |
#                    proxy-stop NAME | stop [DIR]
#
# nginx locations (same on both ports):
#   /            the folder WWW
#   /norange/    WWW with Range disabled (max_ranges 0): every GET is a 200
#   /nohead/     WWW, but HEAD is refused with 405
#   /moved/X     302 to /X
#   /loop/       redirects to itself forever
#   /broken/     500 for everything
# The access log records, per request: client, connection number, request
# number on that connection, method, raw URI, status, Range header, bytes
# sent in total and body bytes sent:
#   127.0.0.1 7 2 GET /big.bin 206 "bytes=0-99" 402 100

SERVERS_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

servers__log() { echo "servers.sh: $*" >&2; }

# The state directory, made and exported on first use.
servers__dir() {
	if [ -z "${FERRY_SERVERS_DIR:-}" ]; then
		FERRY_SERVERS_DIR=$(mktemp -d "${FERRY_TEST_TMP:-/tmp}/ferry-servers.XXXXXX") || return 1
	fi
	mkdir -p "$FERRY_SERVERS_DIR" || return 1
	FERRY_SERVERS_DIR=$(cd "$FERRY_SERVERS_DIR" && pwd) || return 1
	export FERRY_SERVERS_DIR
	echo "FERRY_SERVERS_DIR=$FERRY_SERVERS_DIR"
}

# The start time of a process (field 22 of /proc/PID/stat), so a recorded
# pid that was reused by someone else's process is never killed.
servers__starttime() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat
	echo "${20}"
}

servers__alive() { # pid starttime
	local st state
	st=$(servers__starttime "$1") || return 1
	[ "$st" = "$2" ] || return 1
	state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ "$state" != Z ]
}

servers__record() { # dir name pid
	local st
	st=$(servers__starttime "$3") || st=0
	echo "$2 $3 $st" >>"$1/pids"
}

servers__kill_one() { # pid starttime
	local pid=$1 st=$2 child i
	servers__alive "$pid" "$st" || return 0
	for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
		kill -TERM "$child" 2>/dev/null
	done
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 50); do
		servers__alive "$pid" "$st" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	return 0
}

# A port free on both 127.0.0.1 and ::1 right now.
servers__port() {
	python3 - <<'EOF'
import socket
for _ in range(50):
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s6.bind(("::1", 0))
    port = s6.getsockname()[1]
    s4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s4.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s4.close()
        s6.close()
    print(port)
    break
EOF
}

servers__listening() { # host port
	(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

servers__wait_ready() { # pid starttime port...
	local pid=$1 st=$2 i p all
	shift 2
	for i in $(seq 1 100); do
		servers__alive "$pid" "$st" || return 1
		all=1
		for p in "$@"; do
			servers__listening 127.0.0.1 "$p" && servers__listening ::1 "$p" || all=0
		done
		[ "$all" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}

servers__watch() { # dir
	local dir=$1 owner=${FERRY_SERVERS_OWNER:-}
	[ -n "$owner" ] || return 0
	[ -e "$dir/watch.started" ] && return 0
	: >"$dir/watch.started"
	(
		while kill -0 "$owner" 2>/dev/null; do sleep 1; done
		servers_stop "$dir"
	) </dev/null >/dev/null 2>&1 &
	servers__record "$dir" watch $!
}

# A private CA and a server certificate for localhost, 127.0.0.1 and ::1.
servers_ca_make() { # dir
	local d=$1
	[ -e "$d/ca.pem" ] && return 0
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 3 -subj "/CN=ferry test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>"$d/openssl.log" || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=localhost" \
		2>>"$d/openssl.log" || return 1
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth" \
		"subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" >"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 3 -extfile "$d/server.ext" -out "$d/server.pem" \
		2>>"$d/openssl.log" || return 1
}

servers__nginx_conf() { # dir www http_port https_port
	local d=$1 www=$2 hp=$3 sp=$4 sb=
	[ -n "${FERRY_NGINX_SNDBUF:-}" ] && sb=" sndbuf=$FERRY_NGINX_SNDBUF"
	mkdir -p "$d/nginx-tmp"
	cat >"$d/nginx-locations.conf" <<EOF
location / { }
location /norange/ { alias $www/; max_ranges 0; }
location /nohead/ {
	alias $www/;
	if (\$request_method = HEAD) { return 405; }
}
location /moved/ { rewrite ^/moved/(.*)\$ /\$1 redirect; }
location /loop/ { return 302 /loop/; }
location /broken/ { return 500; }
EOF
	cat >"$d/nginx.conf" <<EOF
# Single process in the foreground: it runs as whoever started it and is
# the one pid servers_stop kills.
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/nginx-error.log warn;
events { worker_connections 512; }
http {
	log_format ferry '\$remote_addr \$connection \$connection_requests \$request_method '
		'\$request_uri \$status "\$http_range" \$bytes_sent \$body_bytes_sent';
	access_log $d/nginx-access.log ferry;
	client_body_temp_path $d/nginx-tmp/body;
	proxy_temp_path $d/nginx-tmp/proxy;
	fastcgi_temp_path $d/nginx-tmp/fastcgi;
	uwsgi_temp_path $d/nginx-tmp/uwsgi;
	scgi_temp_path $d/nginx-tmp/scgi;
	default_type application/octet-stream;
	sendfile on;
	keepalive_timeout 120;
	keepalive_requests 10000;
	server_tokens off;
	server {
		listen 127.0.0.1:$hp$sb;
		listen [::1]:$hp$sb;
		server_name localhost;
		root $www;
		include $d/nginx-locations.conf;
	}
	server {
		listen 127.0.0.1:$sp ssl$sb;
		listen [::1]:$sp ssl$sb;
		server_name localhost;
		ssl_certificate $d/server.pem;
		ssl_certificate_key $d/server.key;
		root $www;
		include $d/nginx-locations.conf;
	}
}
EOF
}

servers_nginx_start() { # www
	local d www hp sp pid st try
	www=$(cd "${1:?servers_nginx_start WWW}" && pwd) || return 1
	servers__dir || return 1
	d=$FERRY_SERVERS_DIR
	servers_ca_make "$d" || { servers__log "openssl failed: $(tail -n 3 "$d/openssl.log")"; return 1; }
	for try in 1 2 3 4 5; do
		hp=$(servers__port) && sp=$(servers__port) || return 1
		[ "$hp" != "$sp" ] || continue
		servers__nginx_conf "$d" "$www" "$hp" "$sp"
		/usr/sbin/nginx -p "$d" -c "$d/nginx.conf" -e "$d/nginx-error.log" \
			</dev/null >>"$d/nginx.out" 2>&1 &
		pid=$!
		st=$(servers__starttime "$pid") || st=0
		servers__record "$d" nginx "$pid"
		servers__watch "$d"
		if servers__wait_ready "$pid" "$st" "$hp" "$sp"; then
			export FERRY_HTTP_PORT=$hp FERRY_HTTPS_PORT=$sp FERRY_CA=$d/ca.pem
			export FERRY_NGINX_LOG=$d/nginx-access.log
			echo "FERRY_HTTP_PORT=$hp"
			echo "FERRY_HTTPS_PORT=$sp"
			echo "FERRY_CA=$d/ca.pem"
			echo "FERRY_NGINX_LOG=$d/nginx-access.log"
			return 0
		fi
		servers__kill_one "$pid" "$st"
	done
	servers__log "nginx did not start: $(tail -n 3 "$d/nginx-error.log" 2>/dev/null)"
	return 1
}

servers__sshd_conf() { # dir port user
	local d=$1 port=$2 user=$3
	cat >"$d/sshd_config" <<EOF
# Only what ferry needs: SFTP for one user with one ed25519 key.
ListenAddress 127.0.0.1:$port
ListenAddress [::1]:$port
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
AllowUsers $user
PermitRootLogin prohibit-password
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# The key files live under a world-writable /tmp: the ownership walk of
# StrictModes would refuse them.
StrictModes no
UseDNS no
PermitTTY no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitUserRC no
MaxStartups 100
MaxSessions 20
Subsystem sftp internal-sftp
ForceCommand internal-sftp
LogLevel VERBOSE
EOF
}

servers_sshd_start() { # [root]
	local d port pid st user try hostpub root=/
	[ $# -gt 0 ] && { root=$(cd "$1" && pwd) || return 1; }
	servers__dir || return 1
	d=$FERRY_SERVERS_DIR
	user=$(id -un)
	if [ ! -e "$d/ssh_host_ed25519_key" ]; then
		ssh-keygen -q -t ed25519 -N '' -C ferry-test-host -f "$d/ssh_host_ed25519_key" &&
			ssh-keygen -q -t ed25519 -N '' -C ferry-test-other-host -f "$d/ssh_other_host_key" &&
			ssh-keygen -q -t ed25519 -N '' -C ferry-test-user -f "$d/id_ed25519" &&
			ssh-keygen -q -t ed25519 -N '' -C ferry-test-stranger -f "$d/id_stranger" ||
			return 1
		cp "$d/id_ed25519.pub" "$d/authorized_keys"
		chmod 600 "$d/authorized_keys"
	fi
	# sshd running as root wants its (empty) privilege-separation directory.
	if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
		mkdir -p /run/sshd && chmod 0755 /run/sshd
	fi
	for try in 1 2 3 4 5; do
		port=$(servers__port) || return 1
		servers__sshd_conf "$d" "$port" "$user"
		if ! /usr/sbin/sshd -t -f "$d/sshd_config" 2>"$d/sshd-check.log"; then
			servers__log "sshd refused its config: $(head -n 3 "$d/sshd-check.log")"
			return 1
		fi
		/usr/sbin/sshd -D -e -f "$d/sshd_config" </dev/null >>"$d/sshd.log" 2>&1 &
		pid=$!
		st=$(servers__starttime "$pid") || st=0
		servers__record "$d" sshd "$pid"
		servers__watch "$d"
		if servers__wait_ready "$pid" "$st" "$port"; then
			hostpub=$(cut -d' ' -f1,2 "$d/ssh_host_ed25519_key.pub")
			echo "[127.0.0.1]:$port,[::1]:$port,[localhost]:$port $hostpub" >"$d/known_hosts"
			hostpub=$(cut -d' ' -f1,2 "$d/ssh_other_host_key.pub")
			echo "[127.0.0.1]:$port,[::1]:$port,[localhost]:$port $hostpub" >"$d/known_hosts.wrong"
			export FERRY_SFTP_PORT=$port FERRY_SSH_KEY=$d/id_ed25519 FERRY_SFTP_ROOT=$root
			export FERRY_KNOWN_HOSTS=$d/known_hosts FERRY_SFTP_USER=$user
			export FERRY_KNOWN_HOSTS_WRONG=$d/known_hosts.wrong
			export FERRY_SSH_KEY_UNAUTHORIZED=$d/id_stranger
			echo "FERRY_SFTP_PORT=$port"
			echo "FERRY_SSH_KEY=$d/id_ed25519"
			echo "FERRY_KNOWN_HOSTS=$d/known_hosts"
			echo "FERRY_SFTP_USER=$user"
			echo "FERRY_SFTP_ROOT=$root"
			echo "FERRY_KNOWN_HOSTS_WRONG=$d/known_hosts.wrong"
			echo "FERRY_SSH_KEY_UNAUTHORIZED=$d/id_stranger"
			return 0
		fi
		servers__kill_one "$pid" "$st"
	done
	servers__log "sshd did not start: $(tail -n 3 "$d/sshd.log" 2>/dev/null)"
	return 1
}

servers__weakproxy() {
	local b=${FERRY_BUILD:-$SERVERS_SRC/build/${MODE:-san}}
	echo "$b/tests/tools/weakproxy"
}

servers_proxy_start() { # name arg...
	local d name=${1:?servers_proxy_start NAME ARG...} bin pid st i port
	shift
	servers__dir >/dev/null || return 1
	d=$FERRY_SERVERS_DIR
	bin=$(servers__weakproxy)
	[ -x "$bin" ] || { servers__log "$bin is not built"; return 1; }
	rm -f "$d/proxy-$name.port"
	"$bin" --listen 127.0.0.1:0 --max-seconds 600 --port-file "$d/proxy-$name.port" "$@" \
		</dev/null >>"$d/proxy-$name.log" 2>&1 &
	pid=$!
	st=$(servers__starttime "$pid") || st=0
	servers__record "$d" "proxy-$name" "$pid"
	servers__watch "$d"
	for i in $(seq 1 100); do
		port=$(cat "$d/proxy-$name.port" 2>/dev/null)
		if [ -n "$port" ]; then
			export FERRY_PROXY_PORT=$port
			echo "FERRY_PROXY_PORT=$port"
			return 0
		fi
		servers__alive "$pid" "$st" || break
		sleep 0.05
	done
	servers__log "weakproxy did not start: $(tail -n 3 "$d/proxy-$name.log")"
	return 1
}

servers__stop_matching() { # dir name-pattern
	local d=$1 pat=$2 name pid st rest=
	[ -e "$d/pids" ] || return 0
	while read -r name pid st; do
		# shellcheck disable=SC2254
		case $name in
		$pat)
			[ "$pid" = "${BASHPID:-$$}" ] || servers__kill_one "$pid" "$st" ;;
		*) rest="$rest$name $pid $st"$'\n' ;;
		esac
	done <"$d/pids"
	printf '%s' "$rest" >"$d/pids"
}

servers_proxy_stop() { # name
	[ -n "${FERRY_SERVERS_DIR:-}" ] || return 0
	servers__stop_matching "$FERRY_SERVERS_DIR" "proxy-${1:?servers_proxy_stop NAME}"
}

servers_stop() { # [dir]
	local d=${1:-${FERRY_SERVERS_DIR:-}}
	[ -n "$d" ] && [ -d "$d" ] || return 0
	servers__stop_matching "$d" watch
	servers__stop_matching "$d" '*'
	rm -f "$d/pids" "$d/watch.started"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	cmd=${1:-}
	shift || true
	case $cmd in
	nginx) servers_nginx_start "$@" ;;
	sshd) servers_sshd_start "$@" ;;
	proxy) servers_proxy_start "$@" ;;
	proxy-stop) servers_proxy_stop "$@" ;;
	stop) servers_stop "$@" ;;
	*)
		echo "usage: $0 nginx WWW | sshd [ROOT] | proxy NAME ARG... | proxy-stop NAME | stop [DIR]" >&2
		exit 2
		;;
	esac
fi
