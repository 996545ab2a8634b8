# e2e_lib.sh - what the end-to-end scripts share, sourced after they set src, work and
# pids=() (pg_lib.sh holds the PostgreSQL part).
#   check DESCRIPTION COMMAND...  runs COMMAND; prints ok/FAILED, counts failures in $fails
#   stop_pids                     TERM to every pid in pids, 5 s each to go, then KILL
#   demo_references               the demo families' references in $refs, learnt once per
#                                 build directory and again when a family file or reman-train
#                                 is newer (under a lock: one test at a time)
#   start_xvfb                    an X server on a display number it chooses (its pid in
#                                 pids), DISPLAY and GTK's environment exported, and a
#                                 session bus of its own when none is set
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
    # again when a family file or the trainer is newer than the references
    local stale="" shape
    for shape in disc housing shaft; do
      if [ ! -f "$refs/demo-$shape.ref" ] ||
         [ -n "$(find "$src/models/families/demo-$shape.json" "$RS_BINARY_DIR/bin/reman-train" \
                 "$src/scripts/train-demo-references.sh" \
                 -newer "$refs/demo-$shape.ref" 2>/dev/null)" ]; then
        stale=1
      fi
    done
    if [ -n "$stale" ]; then
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
  # a session bus of the test's own, as a desktop session gives the station (without one
  # GtkApplication warns "Unable to acquire session bus" where dbus-launch is absent)
  if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ] && command -v dbus-daemon >/dev/null; then
    dbus-daemon --session --fork --print-address=3 --print-pid=4 3>"$work/dbus.addr" \
      4>"$work/dbus.pid"
    pids+=("$(head -n1 "$work/dbus.pid")")
    DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$work/dbus.addr")
    export DBUS_SESSION_BUS_ADDRESS
  fi
}

# A loopback TCP port free now, drawn at random from 20000-32767: below the kernel's
# ephemeral range (32768-60999 here), so that no outgoing connection of this or a
# parallel test (PostgreSQL clients, ZeroMQ connects) takes it between the pick and the
# program's bind, as a port the kernel hands out for bind(0) could be; and reserved for
# 30 minutes (/tmp/rs-ports), so that no two picks of this or a parallel test coincide.
rs_free_port() {
  local py=python3
  [ -x /usr/bin/python3 ] && py=/usr/bin/python3
  $py -c '
import random, socket
lo, hi = 20000, 32767
try:
    lo_eph = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    hi = min(hi, lo_eph - 1)
except Exception:
    pass
import os, time
# a pick is reserved for 30 minutes in /tmp/rs-ports (a file made with O_EXCL, or a
# reservation older than that taken over): free at the pick is not enough, as a port
# picked twice (by this test, whose programs bind later and bind again after a restart,
# or by a parallel one) stays free until the first program binds it
d = "/tmp/rs-ports"
os.makedirs(d, mode=0o1777, exist_ok=True)
def reserve(p):
    f = os.path.join(d, str(p))
    try:
        os.close(os.open(f, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        return True
    except FileExistsError:
        try:
            if time.time() - os.stat(f).st_mtime < 1800:
                return False
            os.utime(f)
            return True
        except OSError:
            return False
    except OSError:
        return True  # no registry (read-only /tmp): the bind test alone
for _ in range(500):
    p = random.randint(lo, hi)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    if not reserve(p):
        continue
    print(p)
    break
else:
    raise SystemExit("no free port")
'
}
