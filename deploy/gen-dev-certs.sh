#!/bin/sh
# gen-dev-certs.sh -- make a development CA and a server certificate.
#
# Usage: deploy/gen-dev-certs.sh DIR [HOSTNAME]
# Writes DIR/ca.pem, DIR/ca.key, DIR/server.pem, DIR/server.key (ECDSA
# P-256, valid for HOSTNAME (default localhost), localhost and 127.0.0.1).
# Keeps existing files, so running it twice is harmless.  Never for
# production: use your organisation's certificates there.
set -eu
dir=${1:?usage: gen-dev-certs.sh DIR [HOSTNAME]}
host=${2:-localhost}
mkdir -p "$dir"
umask 077
cd "$dir"
if [ -s ca.pem ] && [ -s server.pem ] && [ -s server.key ]; then
	exit 0
fi
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 825 -subj "/CN=peerd development CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
openssl req -new -key server.key -subj "/CN=$host" -out server.csr 2>/dev/null
cat > server.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:$host,DNS:localhost,IP:127.0.0.1
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 825 -sha256 -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 600 ca.key server.key
chmod 644 ca.pem server.pem
echo "gen-dev-certs: wrote $dir/ca.pem and $dir/server.pem for $host" >&2
