# e2e_lib.sh - what the end-to-end scripts share, sourced after they set src, work and
# pids=() (pg_lib.sh holds the PostgreSQL part).
#   check DESCRIPTION COMMAND...  runs COMMAND; prints ok/FAILED, counts failures in $fails
#   stop_pids                     TERM to every pid in pids, 5 s each to go, then KILL
#   demo_references               the demo families' references in $refs, learnt once per
#                                 build directory (under a lock: one test at a time)
#   start_xvfb                    an X server on a display number it chooses (its pid in
#                                 pids), DISPLAY and GTK's environment exported
fails=0
check() {
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; fails=$((fails + 1)); fi
}

stop_pids() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null || true; done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

demo_references() {
  refs=${RS_BINARY_DIR}/e2e/references
  mkdir -p "$refs"
  (
    flock 9
    if [ ! -f "$refs/demo-shaft.ref" ]; then
      bash "$src/scripts/train-demo-references.sh" "$RS_BINARY_DIR" "$refs" >/dev/null
    fi
  ) 9>"$refs/.lock"
}

start_xvfb() {
  exec 8>"$work/display"
  Xvfb -displayfd 8 -screen 0 1920x1080x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
  pids+=($!)
  local _
  for _ in $(seq 50); do [ -s "$work/display" ] && break; sleep 0.1; done
  DISPLAY=:$(head -n1 "$work/display")
  export DISPLAY GDK_BACKEND=x11 NO_AT_BRIDGE=1 GSK_RENDERER=cairo
}
