#!/usr/bin/env bash
# Checks the module dependency order written in docs/architecture.md:
#   core -> packager -> manifests -> {sync, satellite};  cmd may use all.
# A file may include headers of its own module and of modules before it;
# sync and satellite never include each other.  Also checks that each
# third-party library is included by exactly its one adapter file.
set -u
cd "$(dirname "$0")/.."
bad=0
allowed() { # module -> allowed include prefixes
	case $1 in
	core) echo "core" ;;
	packager) echo "core packager" ;;
	manifests) echo "core packager manifests" ;;
	sync) echo "core packager manifests sync" ;;
	satellite) echo "core packager manifests satellite" ;;
	*) echo "" ;;
	esac
}
for m in core packager manifests sync satellite; do
	ok=$(allowed $m)
	for f in $(git ls-files "$m/*.c" "$m/*.h" 2>/dev/null; ls $m/*.[ch] 2>/dev/null); do
		grep -oE '^#include "[a-z_]+/' "$f" | sed 's/#include "//; s/\/$//' | sort -u | while read -r inc; do
			case " $ok " in *" $inc "*) ;; *)
				echo "FAIL layering: $f includes $inc/ (allowed: $ok)"
				echo x >>"${TMPDIR:-/tmp}/ferry-layering.$$" ;;
			esac
		done
	done
done
adapter() { # header-regex adapter-file
	local files
	files=$(grep -rlE "^#include <$1" core packager manifests sync satellite cmd 2>/dev/null | sort -u | tr '\n' ' ')
	if [ -n "$files" ] && [ "$files" != "$2 " ]; then
		echo "FAIL layering: <$1> included by $files(only $2 may)"
		echo x >>"${TMPDIR:-/tmp}/ferry-layering.$$"
	fi
}
adapter 'openssl/' core/crypto_openssl.c
adapter 'zstd' packager/codec_zstd.c
adapter 'git2' manifests/git_libgit2.c
adapter 'zlib' manifests/git_libgit2.c
adapter 'sqlite3' sync/db_sqlite.c
adapter 'curl/' sync/transport_http.c
adapter 'libssh2' sync/transport_sftp.c
if [ -e "${TMPDIR:-/tmp}/ferry-layering.$$" ]; then
	rm -f "${TMPDIR:-/tmp}/ferry-layering.$$"
	exit 1
fi
echo "layering: ok"
