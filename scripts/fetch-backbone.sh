#!/usr/bin/env bash
# Fetches a pretrained backbone for rv_cnn (ra_backbone.h): the Keras InceptionV3 "layers
# model" that the npm package nsfwjs 4.3.0 ships in dist/models/inception_v3, and writes
# into DIR the files ra_backbone_load reads: model.json and the weight shards under the
# names its manifest gives (group1-shard1of6 .. group1-shard6of6), plus LICENSE.nsfwjs.
#
# The weights are NOT part of this project and are never committed or shipped with it:
# they belong to nsfwjs (Copyright (c) 2019 Infinite Red, Inc., MIT licence; its LICENSE
# is copied beside them). nsfwjs fine-tuned ImageNet's InceptionV3 to classify images;
# only the layers up to mixed5 (conv2d_1 .. conv2d_51 with their batch normalisations)
# were frozen and kept their ImageNet values, so only outputs up to mixed5 are ImageNet
# features (the station uses mixed3).
#
# The package's files are UMD modules: model.min.js exports the model JSON, each
# group1-shardNof6.min.js a base64 string of that shard's bytes; node decodes them.
# Needs node, and npm unless NSFWJS_TGZ names a copy of the package's tarball (offline).
# The tarball is checked against its SHA-256 (the registry's tarball of 4.3.0).
# Usage: scripts/fetch-backbone.sh DIR        (NSFWJS_TGZ=path/nsfwjs-4.3.0.tgz optional)
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
out=$1
version=4.3.0
sha256=4496790efc9bdc6f3e85a826a8e482c1fa1e9db4b3d18c095e98cc0c73cfb12f
command -v node >/dev/null || { echo "fetch-backbone: node is needed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -n "${NSFWJS_TGZ:-}" ]; then
  cp "$NSFWJS_TGZ" "$work/nsfwjs-$version.tgz"
else
  command -v npm >/dev/null || { echo "fetch-backbone: npm is needed (or NSFWJS_TGZ)" >&2; exit 1; }
  (cd "$work" && npm pack --silent "nsfwjs@$version" >/dev/null)
fi
tgz="$work/nsfwjs-$version.tgz"
got=$(sha256sum "$tgz" | cut -d' ' -f1)
if [ "$got" != "$sha256" ]; then
  echo "fetch-backbone: $tgz has SHA-256 $got, want $sha256 (nsfwjs $version)" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$work" package/LICENSE package/package.json package/dist/models

mkdir -p "$out"
out=$(cd "$out" && pwd)
# model.json and every shard its manifest names (from NAME.min.js); written to temporary
# names first, renamed when all are there
(cd "$work/package/dist/models/inception_v3" && OUT="$out" node -e '
  const fs = require("fs"), path = require("path");
  const out = process.env.OUT, model = require("./model.min.js");
  if (!model.modelTopology || !Array.isArray(model.weightsManifest))
    throw new Error("model.min.js does not export a layers model");
  const done = [];
  for (const group of model.weightsManifest)
    for (const p of group.paths) {
      if (p !== path.basename(p)) throw new Error("unexpected shard path " + p);
      const bytes = Buffer.from(require("./" + p + ".min.js"), "base64");
      fs.writeFileSync(path.join(out, p + ".part"), bytes);
      done.push(p);
    }
  fs.writeFileSync(path.join(out, "model.json.part"), JSON.stringify(model));
  done.push("model.json");
  for (const p of done) fs.renameSync(path.join(out, p + ".part"), path.join(out, p));
  console.log("fetch-backbone: wrote " + done.join(", ") + " into " + out);
')
cp "$work/package/LICENSE" "$out/LICENSE.nsfwjs"
