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
