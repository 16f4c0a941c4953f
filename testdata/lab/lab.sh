#!/usr/bin/env bash
# The preflight lab: real daemons on loopback high ports for the lab tests.
#
#   lab.sh start   install what is missing (apt-get, as root on Debian), make
#                  a throw-away CA, start nsd, rbldnsd and postfix, write the
#                  env file, wait until each answers
#   lab.sh stop    stop exactly what start started (by PID)
#   lab.sh env     print the env file's path (exit 1 if the lab is not running)
#
# Everything listens on 127.0.0.1 (and ::1 for SMTP); postfix does no DNS
# and never connects out. Ports and the state directory come from the
# environment (defaults in brackets):
#   LAB_DIR [/tmp/preflight-lab]      LAB_DNS_PORT [25353]   LAB_RBL_PORT [25354]
#   LAB_SMTP_PORT [25025]             LAB_SUBMISSION_PORT [25587]
#   LAB_SMTPS_PORT [25465]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
LAB_DIR=${LAB_DIR:-/tmp/preflight-lab}
LAB_DNS_PORT=${LAB_DNS_PORT:-25353}
LAB_RBL_PORT=${LAB_RBL_PORT:-25354}
LAB_SMTP_PORT=${LAB_SMTP_PORT:-25025}
LAB_SUBMISSION_PORT=${LAB_SUBMISSION_PORT:-25587}
LAB_SMTPS_PORT=${LAB_SMTPS_PORT:-25465}
LAB_USER=${LAB_USER:-relayuser@lab.example}
PACKAGES="nsd rbldnsd postfix sasl2-bin libsasl2-modules openssl bind9-dnsutils swaks libnet-ssleay-perl"
# Lab domains: postfix delivers their mail to a Maildir; all else is discarded.
MAIL_DOMAINS="good.example lab.example esp.example reports.example nomx.example listed.example smallbiz.example"

log() { printf 'lab: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

need() {
	local missing=()
	command -v nsd >/dev/null || missing+=(nsd)
	command -v rbldnsd >/dev/null || missing+=(rbldnsd)
	command -v postfix >/dev/null || missing+=(postfix)
	command -v saslpasswd2 >/dev/null || missing+=(sasl2-bin)
	command -v openssl >/dev/null || missing+=(openssl)
	[ -e /usr/lib/x86_64-linux-gnu/sasl2/libplain.so ] || ls /usr/lib/*/sasl2/libplain.so >/dev/null 2>&1 || missing+=(libsasl2-modules)
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		die "missing ${missing[*]}; install them (Debian: apt-get install $PACKAGES) or run as root"
	fi
	log "installing $PACKAGES"
	# Keep maintainer scripts from starting system-wide daemons.
	local prc=/usr/sbin/policy-rc.d made_prc=
	if [ ! -e $prc ]; then printf '#!/bin/sh\nexit 101\n' >$prc; chmod +x $prc; made_prc=1; fi
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
	[ -n "$made_prc" ] && rm -f $prc
	return 0
}

# wait_dns PORT NAME: until the server there answers for NAME (max 10 s).
wait_dns() {
	local port=$1 name=$2 i
	for i in $(seq 1 100); do
		if [ -n "$(dig +time=1 +tries=1 +short -p "$port" @127.0.0.1 "$name" SOA 2>/dev/null)" ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
# wait_tcp PORT: until something listens there (max 10 s).
wait_tcp() {
	local port=$1 i
	for i in $(seq 1 100); do
		(exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

make_ca() {
	local d=$LAB_DIR/tls
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=preflight lab CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj "/CN=mx.lab.example" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
	printf 'subjectAltName=DNS:mx.lab.example,DNS:relay.lab.example,DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n' >"$d/ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 90 -extfile "$d/ext" -out "$d/server.pem" 2>/dev/null
	chmod 644 "$d"/*.pem; chmod 640 "$d/server.key"; chgrp postfix "$d/server.key"
}

# sign_zones: the DNSSEC zones (issue #20), signed now with new keys by
# internal/labsign (go run; no network: GOPROXY=off): dane.example, the
# trust anchor ($LAB_DIR/dnssec/anchor.ds); in it ok.dane.example (MX
# mx-ok, whose TLSA 3 1 1 is the lab postfix's key), bad.dane.example (MX
# mx-bad, a TLSA record of another key); unsigned.dane.example, delegated
# without DS, with postfix's TLSA; bogus.dane.example, delegated with a DS,
# its signatures expired a day ago. Every MX is the lab postfix
# (127.0.0.1).
sign_zones() {
	local d=$LAB_DIR/dnssec root; root=$(cd "$here/../.." && pwd)
	mkdir -p "$d"
	local tlsa
	tlsa=$(openssl x509 -in "$LAB_DIR/tls/server.pem" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
	soa() { printf '$ORIGIN %s.
@ 3600 IN SOA ns.dane.example. hostmaster.dane.example. 1 3600 600 86400 60
@ 3600 IN NS ns.dane.example.
' "$1"; }
	{ soa bogus.dane.example; printf '@ 3600 IN MX 10 mx
mx 3600 IN A 127.0.0.1
_25._tcp.mx 3600 IN TLSA 3 1 1 %s
' "$tlsa"; } >"$d/bogus.in"
	{ soa unsigned.dane.example; printf '@ 3600 IN MX 10 mx
mx 3600 IN A 127.0.0.1
_25._tcp.mx 3600 IN TLSA 3 1 1 %s
' "$tlsa"; } >"$d/unsigned.dane.example.zone"
	{
		soa dane.example
		printf 'ns 3600 IN A 127.0.0.1
'
		printf 'ok 3600 IN MX 10 mx-ok
mx-ok 3600 IN A 127.0.0.1
_25._tcp.mx-ok 3600 IN TLSA 3 1 1 %s
' "$tlsa"
		printf 'bad 3600 IN MX 10 mx-bad
mx-bad 3600 IN A 127.0.0.1
_25._tcp.mx-bad 3600 IN TLSA 3 1 1 %s
' "$(printf '%064d' 0)"
		printf 'unsigned 3600 IN NS ns.dane.example.
bogus 3600 IN NS ns.dane.example.
'
	} >"$d/dane.in"
	(cd "$root" && GOPROXY=off GOFLAGS=-mod=readonly go run ./internal/labsign -in "$d/bogus.in" -out "$d/bogus.dane.example.zone" -ds "$d/bogus.ds" -expired &&
		GOPROXY=off GOFLAGS=-mod=readonly go run ./internal/labsign -in "$d/dane.in" -include "$d/bogus.ds" -out "$d/dane.example.zone" -ds "$d/anchor.ds") ||
		die "signing the DNSSEC zones failed (go run ./internal/labsign)"
}

start_nsd() {
	local d=$LAB_DIR/nsd
	mkdir -p "$d"
	{
		printf 'server:\n  ip-address: 127.0.0.1@%s\n  ip-address: ::1@%s\n' "$LAB_DNS_PORT" "$LAB_DNS_PORT"
		printf '  database: ""\n  username: ""\n  chroot: ""\n  zonesdir: "%s"\n' "$here/zones"
		printf '  pidfile: "%s/nsd.pid"\n  logfile: "%s/nsd.log"\n  xfrdfile: "%s/xfrd.state"\n' "$d" "$d" "$d"
		printf '  zonelistfile: "%s/zone.list"\n  verbosity: 1\n  hide-version: yes\n' "$d"
		printf 'remote-control:\n  control-enable: no\n'
		for f in "$here"/zones/*.zone "$LAB_DIR"/dnssec/*.zone; do
			local z; z=$(basename "$f" .zone)
			printf 'zone:\n  name: "%s"\n  zonefile: "%s"\n' "$z" "$f"
		done
	} >"$d/nsd.conf"
	nsd-checkconf "$d/nsd.conf"
	nsd -d -c "$d/nsd.conf" >>"$d/nsd.log" 2>&1 &
	echo $! >"$LAB_DIR/pids/nsd"
}

start_rbldnsd() {
	local d=$LAB_DIR/rbl
	mkdir -p "$d"
	cp "$here"/rbl/* "$d/"
	# Every zone needs SOA and NS records for proper NXDOMAIN answers.
	printf '$SOA 300 ns1.lab.example. hostmaster.lab.example. 2026112301 3600 600 86400 300\n$NS 300 ns1.lab.example.\n' >"$d/soa"
	chmod -R a+rX "$d"
	# FILE names its zone and dataset: ZONE.ip4 (ip4set), ZONE.ip6
	# (ip6trie), ZONE.dom (dnset); zen-PART.ZONE files add datasets to one
	# zone, answering together as Spamhaus ZEN's parts do.
	local specs=() zones=() f b z type
	for f in "$d"/*.ip4 "$d"/*.ip6 "$d"/*.dom; do
		b=$(basename "$f")
		case "$b" in
			*.ip4) type=ip4set ;;
			*.ip6) type=ip6trie ;;
			*.dom) type=dnset ;;
		esac
		z=${b%.*}
		case "$z" in zen-*.*) z=zen.${z#zen-*.} ;; esac
		specs+=("$z:$type:$b")
		case " ${zones[*]} " in *" $z "*) ;; *) zones+=("$z"); specs+=("$z:generic:soa") ;; esac
	done
	rbldnsd -n -w "$d" -b "127.0.0.1/$LAB_RBL_PORT" -t 300 -l "+$d/queries.log" "${specs[@]}" >>"$d/rbldnsd.log" 2>&1 &
	echo $! >"$LAB_DIR/pids/rbldnsd"
}

start_postfix() {
	local d=$LAB_DIR/postfix etc=$LAB_DIR/postfix/etc
	mkdir -p "$etc/sasl" "$d/queue" "$d/data" "$LAB_DIR/mail" "$LAB_DIR/secrets"
	chown postfix "$d/data"
	chown postfix:postfix "$LAB_DIR/mail"
	local vdomains="" dom
	for dom in $MAIL_DOMAINS; do vdomains+="$dom "; done
	cat >"$etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.lab.example
mydomain = lab.example
myorigin = lab.example
mydestination =
mynetworks = 127.0.0.0/8 [::1]/128
inet_interfaces = 127.0.0.1, [::1]
inet_protocols = all
maillog_file = $d/maillog
maillog_file_prefixes = $LAB_DIR
alias_maps =
alias_database =
biff = no
# No DNS, and nothing leaves: every non-lab destination is discarded.
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
default_transport = discard:lab discards mail for outside domains
relay_transport = discard:lab discards mail for outside domains
virtual_mailbox_domains = $vdomains
virtual_mailbox_base = $LAB_DIR/mail
virtual_mailbox_maps = texthash:$etc/vmailbox
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
virtual_minimum_uid = 1
# As an MX: STARTTLS offered, no relaying for strangers.
smtpd_tls_cert_file = $LAB_DIR/tls/server.pem
smtpd_tls_key_file = $LAB_DIR/tls/server.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = reject_unauth_destination
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $etc/sasl
smtpd_sasl_auth_enable = no
message_size_limit = 10240000
EOF
	# One Maildir per lab domain (virtual(8) allows no regexp substitution).
	for dom in $MAIL_DOMAINS; do printf '@%s %s/\n' "$dom" "$dom"; done >"$etc/vmailbox"
	sed -e 's/^\([a-z]*\)\( *\)\(unix\|inet\|unix-dgram\|fifo\|pass\)\( *[-ny] *[-ny] *\)[-y]/\1\2\3\4n/' \
		/usr/share/postfix/master.cf.dist >"$etc/master.cf"
	# Replace the port 25 listener with the lab's ports.
	sed -i -e '/^smtp *inet/d' "$etc/master.cf"
	local sub="-o smtpd_sasl_auth_enable=yes -o smtpd_relay_restrictions=permit_sasl_authenticated,reject -o smtpd_recipient_restrictions="
	cat >>"$etc/master.cf" <<EOF
127.0.0.1:$LAB_SMTP_PORT inet n - n - - smtpd
[::1]:$LAB_SMTP_PORT inet n - n - - smtpd
127.0.0.1:$LAB_SUBMISSION_PORT inet n - n - - smtpd -o smtpd_tls_security_level=encrypt $sub
127.0.0.1:$LAB_SMTPS_PORT inet n - n - - smtpd -o smtpd_tls_wrappermode=yes $sub
EOF
	printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: %s\n' "$etc/sasl/sasldb2" >"$etc/sasl/smtpd.conf"
	local pw; pw=$(openssl rand -hex 16)
	printf '%s' "$pw" >"$LAB_DIR/secrets/relay-password"
	chmod 600 "$LAB_DIR/secrets/relay-password"
	printf '%s' "$pw" | saslpasswd2 -p -c -f "$etc/sasl/sasldb2" -u "${LAB_USER#*@}" "${LAB_USER%@*}"
	chgrp postfix "$etc/sasl/sasldb2"; chmod 640 "$etc/sasl/sasldb2"
	postfix -c "$etc" check
	postfix -c "$etc" start >/dev/null 2>&1
	local i
	for i in $(seq 1 50); do [ -s "$d/queue/pid/master.pid" ] && break; sleep 0.1; done
	tr -d ' ' <"$d/queue/pid/master.pid" >"$LAB_DIR/pids/postfix"
}

write_env() {
	cat >"$LAB_DIR/lab.env" <<EOF
LAB_DIR=$LAB_DIR
LAB_DNS=127.0.0.1:$LAB_DNS_PORT
LAB_DNS6=[::1]:$LAB_DNS_PORT
LAB_RBL=127.0.0.1:$LAB_RBL_PORT
LAB_SMTP=127.0.0.1:$LAB_SMTP_PORT
LAB_SMTP_PORT=$LAB_SMTP_PORT
LAB_SMTP6=[::1]:$LAB_SMTP_PORT
LAB_SUBMISSION=127.0.0.1:$LAB_SUBMISSION_PORT
LAB_SMTPS=127.0.0.1:$LAB_SMTPS_PORT
LAB_CA=$LAB_DIR/tls/ca.pem
LAB_USER=$LAB_USER
LAB_PASSWORD_FILE=$LAB_DIR/secrets/relay-password
LAB_MAILDIR=$LAB_DIR/mail
LAB_ZONES=$here/zones
LAB_KEYS=$here/keys
LAB_TRUST_ANCHOR=$LAB_DIR/dnssec/anchor.ds
EOF
}

cmd_start() {
	[ -e "$LAB_DIR/pids" ] && cmd_stop
	need
	rm -rf "$LAB_DIR"
	mkdir -p "$LAB_DIR/pids"
	chmod 755 "$LAB_DIR"
	make_ca
	sign_zones
	start_nsd
	start_rbldnsd
	start_postfix
	wait_dns "$LAB_DNS_PORT" good.example || die "nsd does not answer on port $LAB_DNS_PORT (see $LAB_DIR/nsd/nsd.log)"
	wait_dns "$LAB_RBL_PORT" bl.lab.example || die "rbldnsd does not answer on port $LAB_RBL_PORT (see $LAB_DIR/rbl/rbldnsd.log)"
	for p in $LAB_SMTP_PORT $LAB_SUBMISSION_PORT $LAB_SMTPS_PORT; do
		wait_tcp "$p" || die "postfix does not listen on $p (see $LAB_DIR/postfix/maillog)"
	done
	write_env
	log "running: dns 127.0.0.1:$LAB_DNS_PORT, rbl 127.0.0.1:$LAB_RBL_PORT, smtp $LAB_SMTP_PORT, submission $LAB_SUBMISSION_PORT, smtps $LAB_SMTPS_PORT"
	echo "$LAB_DIR/lab.env"
}

# stop_pid NAME: TERM the process start recorded, then KILL if it lingers.
stop_pid() {
	local f=$LAB_DIR/pids/$1 pid i state
	[ -s "$f" ] || return 0
	pid=$(cat "$f")
	kill "$pid" 2>/dev/null || true
	for i in $(seq 1 50); do
		state=$(ps -o stat= -p "$pid" 2>/dev/null || true)
		case "$state" in ""|Z*) rm -f "$f"; return 0 ;; esac
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$f"
}

cmd_stop() {
	[ -d "$LAB_DIR/pids" ] || return 0
	if [ -s "$LAB_DIR/pids/postfix" ]; then
		postfix -c "$LAB_DIR/postfix/etc" stop >/dev/null 2>&1 || true
	fi
	stop_pid postfix
	stop_pid rbldnsd
	stop_pid nsd
	rm -f "$LAB_DIR/lab.env"
	rmdir "$LAB_DIR/pids" 2>/dev/null || true
	log "stopped"
}

case "${1:-}" in
	start) cmd_start ;;
	stop) cmd_stop ;;
	env) [ -s "$LAB_DIR/lab.env" ] && echo "$LAB_DIR/lab.env" || exit 1 ;;
	*) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
