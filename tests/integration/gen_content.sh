#!/usr/bin/env bash
# Checks that tests/tools/gen_content makes what docs/sample-content.md
# promises: the same tree for the same arguments, exactly the requested
# size, the platform's folder layout with names in four scripts, every kind
# of resource with its real magic bytes, shared assets and twin videos that
# dedupe must find, the requested incompressible share (as zstd -3 sees it),
# a sidecar that matches the tree, and revisions that differ from the one
# before by a few mid-file edits, one rename, one or two additions and one
# deletion.  One "ok"/"FAIL" line per case, as tests/run.sh counts them.
set -u
cd "$(dirname "$0")/../.." || exit 1
GEN=${FERRY_BUILD:-$PWD/build/${MODE:-san}}/tests/tools/gen_content
T=$(mktemp -d "${FERRY_TEST_TMP:-/tmp}/gen_content.XXXXXX")
trap 'rm -rf "$T"' EXIT
export LC_ALL=C

ok() { echo "ok integration/gen_content: $1"; }
fail() { echo "FAIL integration/gen_content: $1: $2"; }
check() { # name, then a command that prints why and fails
	local name=$1 why
	shift
	if why=$("$@" 2>&1); then ok "$name"; else fail "$name" "$(printf '%s' "$why" | tr '\n' ' ' | cut -c1-400)"; fi
}

if [ ! -x "$GEN" ]; then
	fail "setup" "$GEN not built"
	exit 1
fi

# A listing that changes if any name, size, mtime or byte changes.
fingerprint() {
	(cd "$1" && find . -type f -printf '%P\t%s\t%T@\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

gen() { "$GEN" "$@" >"$T/last.out" 2>"$T/last.err"; }

usage_errors() {
	local args
	for args in "" "$T/u --size 8M" "$T/u --seed 1" "$T/u --seed 1 --size 8X" "$T/u --seed 1 --size 512K" \
		"$T/u --seed 1 --size 8M --incompressible 1.5" "$T/u --seed 1 --size 8M --incompressible 0.1234567" \
		"$T/u --seed x --size 8M" "$T/u --seed 1 --size 8M --revision 1001" "$T/u --seed 1 --size 8M --bogus" \
		"$T/u $T/v --seed 1 --size 8M"; do
		# shellcheck disable=SC2086
		"$GEN" $args >"$T/u.out" 2>"$T/u.err"
		rc=$?
		[ $rc -eq 2 ] || { echo "'$args' exited $rc, want 2"; return 1; }
		head -n1 "$T/u.err" | grep -q '^gen_content: ' || { echo "'$args': no 'gen_content: ' line"; return 1; }
		[ ! -s "$T/u.out" ] || { echo "'$args' wrote to stdout"; return 1; }
	done
	[ ! -e "$T/u" ] || { echo "a usage error created OUT_DIR"; return 1; }
}

refuses_nonempty() {
	mkdir -p "$T/full" && echo x >"$T/full/stray"
	gen "$T/full" --seed 1 --size 2M
	rc=$?
	[ $rc -eq 1 ] || { echo "exit $rc, want 1"; return 1; }
	grep -q "^gen_content: $T/full: exists and is not empty\$" "$T/last.err" || { cat "$T/last.err"; return 1; }
	[ "$(ls "$T/full")" = stray ] || { echo "touched the directory"; return 1; }
	mkdir "$T/empty" || return 1
	gen "$T/empty" --seed 1 --size 2M || { echo "refused an empty directory"; return 1; }
}

silent_and_exact() {
	gen "$T/a" --seed 42 --size 6M --meta "$T/a.tsv" || { cat "$T/last.err"; return 1; }
	if [ -s "$T/last.out" ] || [ -s "$T/last.err" ]; then echo "printed on success"; return 1; fi
	total=$(find "$T/a" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
	[ "$total" = 6291456 ] || { echo "tree holds $total bytes, want 6291456"; return 1; }
	gen "$T/k" --seed 42 --size 3K && { echo "accepted 3K"; return 1; }
	gen "$T/m" --seed 42 --size 1m || { echo "refused 1m"; return 1; }
	total=$(find "$T/m" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
	[ "$total" = 1048576 ] || { echo "1m tree holds $total bytes"; return 1; }
}

deterministic() {
	gen "$T/b" --seed 42 --size 6M --meta "$T/b.tsv" || return 1
	gen "$T/c" --seed 43 --size 6M || return 1
	fingerprint "$T/a" >"$T/a.fp" && fingerprint "$T/b" >"$T/b.fp" && fingerprint "$T/c" >"$T/c.fp"
	cmp -s "$T/a.fp" "$T/b.fp" || { echo "seed 42 twice gave different trees"; diff "$T/a.fp" "$T/b.fp" | head -3; return 1; }
	cmp -s "$T/a.tsv" "$T/b.tsv" || { echo "seed 42 twice gave different sidecars"; return 1; }
	cmp -s "$T/a.fp" "$T/c.fp" && { echo "seeds 42 and 43 gave the same tree"; return 1; }
	# The environment must not matter: another locale, umask and TZ.
	(umask 077 && LC_ALL=C.UTF-8 TZ=Asia/Shanghai "$GEN" "$T/d" --seed 42 --size 6M) || return 1
	fingerprint "$T/d" >"$T/d.fp"
	cmp -s "$T/a.fp" "$T/d.fp" || { echo "locale/TZ changed the tree"; return 1; }
}

layout_and_names() {
	python3 - "$T/a" <<'EOF'
import os, sys, re
root = sys.argv[1]
grades = {"一年级","二年级","三年级","四年级","五年级","六年级","七年级","八年级","九年级","高一","高二","高三"}
paths = [os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs]
bad = [p for p in paths if len(p.split('/')) < 4 or p.split('/')[0] not in grades]
if bad: sys.exit("not <grade>/<subject>/<chapter>/...: %s" % bad[:3])
scripts = {"Tibetan": "[\u0f00-\u0fff]", "Uyghur (Arabic)": "[\u0600-\u06ff]",
           "Mongolian": "[\u1800-\u18af]", "Chinese": "[\u4e00-\u9fff]"}
for name, rx in scripts.items():
    subj = [p for p in paths if re.search(rx, p.split('/')[1])] if name != "Chinese" else paths
    files = [p for p in paths if re.search(rx, p.split('/')[-1])]
    if not subj or not files: sys.exit("no %s subject folder or file name" % name)
if not any(' ' in p.split('/')[-1] for p in paths): sys.exit("no file name with a space")
if any(p != p.strip() or '//' in p or '\t' in p or '\n' in p for p in paths): sys.exit("odd path")
EOF
}

magic() {
	python3 - "$T/a" <<'EOF'
import os, sys
root = sys.argv[1]
want = {".mp4": None, ".pdf": None, ".txt": None, ".epub": None, ".html": None,
        ".css": None, ".js": None, ".png": None, ".jpg": None}
for d, _, fs in os.walk(root):
    for f in fs:
        ext = os.path.splitext(f)[1]
        if ext not in want: sys.exit("unexpected file type: " + f)
        b = open(os.path.join(d, f), "rb").read()
        checks = {".mp4": lambda: b[4:8] == b"ftyp" and b[36:40] == b"mdat",
                  ".pdf": lambda: b.startswith(b"%PDF-1.7\n") and b.endswith(b"%%EOF\n"),
                  ".epub": lambda: b.startswith(b"PK\x03\x04") and b[30:58] == b"mimetypeapplication/epub+zip"
                                   and b[-22:-18] == b"PK\x05\x06",
                  ".png": lambda: b.startswith(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR") and b.endswith(b"IEND\xaeB`\x82"),
                  ".jpg": lambda: b.startswith(b"\xff\xd8\xff\xe0") and b.endswith(b"\xff\xd9"),
                  ".html": lambda: b.startswith(b"<!DOCTYPE html>") and b.endswith(b"</html>\n"),
                  ".txt": lambda: b.decode("utf-8", "strict") is not None and b.endswith(b"\n"),
                  ".css": lambda: b.startswith(b".c"), ".js": lambda: b.startswith((b"function", b"var"))}
        try:
            good = checks[ext]()
        except UnicodeDecodeError:
            good = False
        if not good: sys.exit("bad %s framing: %s" % (ext, os.path.join(d, f)))
        want[ext] = want[ext] or f
missing = [e for e, f in want.items() if not f]
if missing: sys.exit("no file of type " + " ".join(missing))
EOF
}

duplicates() {
	local n
	n=$(find "$T/a" -path '*/images/logo.png' -print0 | xargs -0 sha256sum | awk '{print $1}' | sort | uniq -c | awk '$1 >= 2' | wc -l)
	[ "$n" = 1 ] || { echo "logo.png is not one shared file"; return 1; }
	for f in css/style.css js/player.js; do
		n=$(find "$T/a" -path "*/$f" -print0 | xargs -0 sha256sum | awk '{print $1}' | sort -u | wc -l)
		[ "$n" = 1 ] || { echo "$f differs between courseware folders"; return 1; }
	done
	find "$T/a" -path '*/images/fig1.png' -print0 | xargs -0 sha256sum | awk '{print $1}' | sort | uniq -d | grep -q . &&
		{ echo "per-lesson figures are shared"; return 1; }
	twins=$(find "$T/a" -name '*.mp4' -print0 | xargs -0 sha256sum | awk '{print $1}' | sort | uniq -d | wc -l)
	[ "$twins" -ge 1 ] || { echo "no video stored twice"; return 1; }
	find "$T/a" -name '拓展 *.mp4' | grep -q . || { echo "no 拓展 copy"; return 1; }
}

# zstd -3 over the whole tree: ratio must sit between F (all of the
# incompressible share survives) and F plus 45% of the rest.
fraction() {
	local f ratio prev=0
	for f in 0.2 0.5 0.8; do
		gen "$T/f$f" --seed 7 --size 24M --incompressible $f || return 1
		ratio=$(tar -C "$T/f$f" -cf - . | zstd -3 -T2 -q -c | wc -c |
			awk -v f=$f '{r = $1 / 25165824; printf "%.4f", r; exit !(r >= f - 0.005 && r <= f + (1 - f) * 0.45)}') ||
			{ echo "fraction $f: zstd ratio $ratio"; return 1; }
		awk -v a="$ratio" -v b="$prev" 'BEGIN {exit !(a > b + 0.15)}' || { echo "ratio $ratio not above $prev"; return 1; }
		prev=$ratio
		rm -rf "$T/f$f"
	done
}

sidecar() {
	python3 - "$T/a" "$T/a.tsv" <<'EOF'
import os, re, sys
root, tsv = sys.argv[1], sys.argv[2]
lines = open(tsv, encoding="utf-8").read().split("\n")
if lines[0] != "path\tid\ttitle\tsubject\tgrade\tedition\ttype": sys.exit("header: %r" % lines[0])
if lines[-1] != "": sys.exit("no final newline")
rows = [l.split("\t") for l in lines[1:-1]]
files = {os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs}
if any(len(r) != 7 or not all(r) for r in rows): sys.exit("row without 7 non-empty fields")
if {r[0] for r in rows} != files or len(rows) != len(files): sys.exit("rows do not match the files")
ids = [r[1] for r in rows]
if not all(re.fullmatch("R[0-9a-f]{12}", i) for i in ids) or len(set(ids)) != len(ids): sys.exit("bad or repeated id")
types = {".mp4": "video", ".pdf": "pdf", ".txt": "text", ".epub": "etextbook"}
for p, i, title, subject, grade, edition, typ in rows:
    parts = p.split("/")
    if (grade, subject) != (parts[0], parts[1]): sys.exit("grade/subject do not match path " + p)
    if edition not in ("人教版", "部编版", "北师大版"): sys.exit("edition " + edition)
    if typ != types.get(os.path.splitext(p)[1], "courseware"): sys.exit("type %s for %s" % (typ, p))
    if typ == "courseware" and not re.search("课件/", p): sys.exit("courseware outside a folder: " + p)
    if not re.search("[\u4e00-\u9fff]", title): sys.exit("title not in Chinese: " + title)
EOF
}

# Compares two revisions through their sidecars: ids say which file is which.
revision_step() { # older-dir older-tsv newer-dir newer-tsv round
	python3 - "$@" <<'EOF'
import difflib, os, sys
a, at, b, bt, rnd = sys.argv[1:6]
def load(t):
    return {r.split("\t")[1]: r.split("\t")[0] for r in open(t, encoding="utf-8").read().split("\n")[1:-1]}
ma, mb = load(at), load(bt)
def data(d, p): return open(os.path.join(d, p), "rb").read()
def mtime(d, p): return os.stat(os.path.join(d, p)).st_mtime
gone = set(ma) - set(mb)
added = set(mb) - set(ma)
renamed, edited, same = [], [], 0
for i in set(ma) & set(mb):
    pa, pb = ma[i], mb[i]
    x, y = data(a, pa), data(b, pb)
    if pa != pb:
        if x != y: sys.exit("renamed and changed: " + pb)
        renamed.append(pb)
    elif x != y:
        edited.append(pb)
        ops = [o for o in difflib.SequenceMatcher(None, x.split(b"\n"), y.split(b"\n"), False).get_opcodes() if o[0] != "equal"]
        lx, ly = x.split(b"\n"), y.split(b"\n")
        deleted = sum(len(l) + 1 for o in ops for l in lx[o[1]:o[2]])
        inserted = sum(len(l) + 1 for o in ops for l in ly[o[3]:o[4]])
        first = sum(len(l) + 1 for l in lx[:ops[0][1]])
        last = sum(len(l) + 1 for l in lx[:ops[-1][2]])
        if len(ops) > 4 or deleted > 1024 or inserted > 1024: sys.exit("big edit in %s: %s" % (pb, ops))
        if first < len(x) // 5 or last > len(x) - len(x) // 5:
            sys.exit("edit not mid-file in %s (%d..%d of %d)" % (pb, first, last, len(x)))
        if os.path.splitext(pb)[1] not in (".txt", ".pdf", ".html"): sys.exit("edited " + pb)
        if mtime(b, pb) <= mtime(a, pa): sys.exit("edited file kept its mtime: " + pb)
    else:
        same += 1
        if mtime(a, pa) != mtime(b, pb): sys.exit("unchanged file changed mtime: " + pb)
if len(gone) != 1: sys.exit("round %s deleted %d files, want 1" % (rnd, len(gone)))
if not 1 <= len(added) <= 2: sys.exit("round %s added %d files" % (rnd, len(added)))
if len(renamed) != 1 or ("（修订%s）" % rnd) not in renamed[0]: sys.exit("renames: %s" % renamed)
if not 2 <= len(edited) <= 5: sys.exit("round %s edited %d files" % (rnd, len(edited)))
if same != len(ma) - 1 - len(renamed) - len(edited): sys.exit("count mismatch")
if any("修订" not in mb[i] for i in added): sys.exit("added files not named as errata")
EOF
}

revisions() {
	gen "$T/r1" --seed 42 --size 6M --revision 1 --meta "$T/r1.tsv" || return 1
	gen "$T/r2" --seed 42 --size 6M --revision 2 --meta "$T/r2.tsv" || return 1
	gen "$T/r2b" --seed 42 --size 6M --revision 2 --meta "$T/r2b.tsv" || return 1
	revision_step "$T/a" "$T/a.tsv" "$T/r1" "$T/r1.tsv" 1 || return 1
	revision_step "$T/r1" "$T/r1.tsv" "$T/r2" "$T/r2.tsv" 2 || return 1
	fingerprint "$T/r2" >"$T/r2.fp" && fingerprint "$T/r2b" >"$T/r2b.fp"
	if ! cmp -s "$T/r2.fp" "$T/r2b.fp" || ! cmp -s "$T/r2.tsv" "$T/r2b.tsv"; then
		echo "revision 2 not reproducible"
		return 1
	fi
	# Many rounds stay well-formed (names unique, sizes bounded).
	gen "$T/r40" --seed 42 --size 6M --revision 40 --meta "$T/r40.tsv" || { cat "$T/last.err"; return 1; }
	[ "$(($(wc -l <"$T/r40.tsv") - 1))" = "$(find "$T/r40" -type f | wc -l)" ] || { echo "r40 sidecar"; return 1; }
}

check "usage errors exit 2 with one line" usage_errors
check "refuses a non-empty OUT_DIR" refuses_nonempty
check "silent, and exactly SIZE bytes" silent_and_exact
check "same arguments, same bytes" deterministic
check "grade/subject/chapter layout, four scripts" layout_and_names
check "every resource type with its magic bytes" magic
check "shared assets and twin videos" duplicates
check "incompressible share as zstd sees it" fraction
check "sidecar matches the tree" sidecar
check "revisions are errata rounds" revisions
