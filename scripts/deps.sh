# Sourced by setup.sh and test.sh: installs the Debian packages p4reg needs
# when missing (as root through apt-get), or prints the exact apt-get line.
# scdoc builds the man pages (docs/man/README.md); dpkg-dev and file are what
# `cpack -G DEB` needs to compute the package's Depends (dpkg-shlibdeps); zsh
# and fish let tests/cli/t_completion.sh check their completion scripts, and
# man-db lets t_man.sh and t_package.sh render a built page. libini-config-dev
# is the reader of ~/.aws/credentials and ~/.aws/config (remote/aws_config.c),
# libyaml-dev the reader of .dvc files (dvc/dvc.c, p4reg import dvc).
P4REG_PACKAGES="gcc make cmake pkg-config libsqlite3-dev libgit2-dev libssl-dev libcjson-dev libcmocka-dev libcurl4-openssl-dev libini-config-dev libyaml-dev git sqlite3 python3 jq clang scdoc dpkg-dev file zsh fish man-db"

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
