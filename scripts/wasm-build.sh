# Shared by scripts/zstd-wasm/build.sh and scripts/zlib-wasm/build.sh (sourced): fetching a Debian
# source tarball, compiling C to a freestanding wasm32 module, and writing it into a TypeScript file.

# fetch_source URL SHA256 DIR: download a tarball, check it against the checksum its .dsc lists,
# unpack it into DIR.
fetch_source() {
  local url=$1 sha=$2 dir=$3 file
  file=$dir/$(basename "$url")
  curl -fsSL -o "$file" "$url"
  echo "$sha  $file" | sha256sum -c -
  tar -xf "$file" -C "$dir"
}

# compile_wasm OUT MAX_MEMORY WORKDIR FLAGS... -- SOURCES...: clang-14 each source with FLAGS, then
# link them with wasm-ld-14 into OUT (no entry point, 64 KiB of stack, at most MAX_MEMORY bytes).
compile_wasm() {
  local out=$1 max=$2 work=$3
  shift 3
  local flags=() objs=() s o
  while [[ $1 != -- ]]; do
    flags+=("$1")
    shift
  done
  shift
  for s in "$@"; do
    o=$work/$(basename "$s" .c).o
    clang-14 "${flags[@]}" -c "$s" -o "$o"
    objs+=("$o")
  done
  wasm-ld-14 --no-entry --strip-all --max-memory="$max" -z stack-size=65536 "${objs[@]}" -o "$out"
}

# emit_ts OUT NAME WASM COMMENT...: OUT holds the comment lines and `export const NAME` = WASM in base64.
emit_ts() {
  local out=$1 name=$2 wasm=$3
  shift 3
  {
    printf '// %s\n' "$@"
    echo "export const $name = '$(base64 -w0 "$wasm")';"
  } >"$out"
  echo "wrote $out ($(stat -c %s "$wasm") bytes of wasm)"
}
