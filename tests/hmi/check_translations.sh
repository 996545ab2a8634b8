#!/usr/bin/env bash
# Every string the station shows (marked for translation in hmi/src/*.c and hmi/ui/*.ui)
# has a Simplified Chinese translation in hmi/po/zh_CN*.po, none fuzzy, and the catalogue
# compiles with msgfmt --check. Fails naming the strings missing.
set -euo pipefail
root=${1:?source dir}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
xgettext --from-code=UTF-8 -k_ -kN_ -kC_:1c,2 -kNC_:1c,2 -kngettext:1,2 -o "$tmp/all.pot" \
  "$root"/hmi/src/*.c "$root"/hmi/ui/*.ui
msgcat --use-first --force-po "$root"/hmi/po/zh_CN*.po -o "$tmp/zh.po"
msgfmt --check -o /dev/null "$tmp/zh.po"
msgmerge -q --no-fuzzy-matching "$tmp/zh.po" "$tmp/all.pot" -o "$tmp/check.po"
missing=$(msgattrib --untranslated --no-wrap "$tmp/check.po" | grep '^msgid "' | grep -v '^msgid ""$' || true)
fuzzy=$(msgattrib --only-fuzzy --no-wrap "$tmp/check.po" | grep '^msgid "' | grep -v '^msgid ""$' || true)
total=$(grep -c '^msgid "' "$tmp/all.pot" || true)
if [ -n "$missing$fuzzy" ]; then
  echo "zh_CN: untranslated or fuzzy strings:"; echo "$missing"; echo "$fuzzy"; exit 1
fi
echo "zh_CN: all $((total - 1)) strings translated"

# Every character the station can show (its sources, templates and catalogue) has a glyph
# in some installed font: GTK and the overlay's labels (Pango) take each character from
# any font that has it, and one that none has is drawn as an empty box with its code
# (U+23F3 HOURGLASS did, in the "Queued" line). Han characters in one query (one CJK font
# must cover them all), the others one by one. Fails naming each character missing.
codes=$(python3 - "$root" <<'PY'
import glob, sys
root = sys.argv[1]
seen = set()
for pat in ("hmi/src/*.c", "hmi/ui/*.ui", "hmi/po/zh_CN*.po"):
    for f in glob.glob(f"{root}/{pat}"):
        seen.update(c for c in open(f, encoding="utf-8").read() if ord(c) > 127)
han = sorted(c for c in seen if 0x3400 <= ord(c) <= 0x9FFF)
other = sorted(c for c in seen if c not in han)
print(" ".join("%x" % ord(c) for c in han))
print(" ".join("%x" % ord(c) for c in other))
PY
)
han=$(sed -n 1p <<<"$codes"); other=$(sed -n 2p <<<"$codes")
nomissing=1
if [ -n "$han" ] && [ -z "$(fc-list ":charset=$han" family)" ]; then
  echo "no installed font has every Han character the station shows (a CJK font: fonts-wqy-microhei)"
  nomissing=0
fi
for c in $other; do
  if [ -z "$(fc-list ":charset=$c" family)" ]; then
    echo "no installed font has U+$(printf %04X 0x$c) ($(printf "\\U$(printf %08x 0x$c)"))"
    nomissing=0
  fi
done
[ "$nomissing" = 1 ] || exit 1
echo "every one of $(wc -w <<<"$han") Han and $(wc -w <<<"$other") other characters shown has a glyph"
