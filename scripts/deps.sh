# Sourced by setup.sh and test.sh: installs the Debian packages p4reg needs
# when missing (as root through apt-get), or prints the exact apt-get line.
P4REG_PACKAGES="gcc make cmake pkg-config libsqlite3-dev libgit2-dev libssl-dev libcjson-dev libcmocka-dev libcurl4-openssl-dev git sqlite3 python3 clang"

p4reg_install_deps() {
	local missing="" p
	for p in $P4REG_PACKAGES "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "p4reg: missing packages; run as root:" >&2
		echo "  apt-get update && apt-get install -y$missing" >&2
		return 1
	fi
	echo "installing:$missing" >&2
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$missing >/dev/null
}
